"""The validation report as a reviewer reads it: the demo's report.html in headless chromium.

Every section renders with its heading, no table is empty, every figure loads, no count prints in
scientific notation and the headline figures are the pack's. Needs Debian's chromium and the
playwright package (no `playwright install`), like tests/test_service_browser.py.

``LENDSCORE_WRITE_SCREENSHOT=docs/report_screenshot.png`` rewrites the screenshot in the docs
(a deliberate command); otherwise the screenshot goes to the test's temporary folder.
"""

from __future__ import annotations

import io
import json
import os
import shutil
from pathlib import Path

import pytest

from lendscore.data import bundled_path
from lendscore.training import train_scorecard
from test_report import SECTIONS as BASE_SECTIONS

# the side-by-side and segment sections follow discrimination when asked for
_AT = BASE_SECTIONS.index("discrimination") + 1
SECTIONS = (*BASE_SECTIONS[:_AT], "segments", "comparison", *BASE_SECTIONS[_AT:])

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOT_MAX_BYTES = 400_000


def _chromium() -> str:
    path = os.environ.get("LENDSCORE_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.fail("chromium not found: install it with `apt-get install -y chromium` (or set LENDSCORE_CHROMIUM)")
    return path


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    """report.html (and report.json) of a training run as `lendscore demo` does it (the model without
    the lender's pricing beside it), broken down by state as `train --segment addr_state` does."""
    from lendscore.cli._demo import FULL_LABEL, VARIANT_LABEL
    from lendscore.reports.from_training import write_training_report

    lc = bundled_path("lending_club")
    result = train_scorecard(lc, profile="lending_club_2007_2011", test_from="2011-01-01")
    variant = train_scorecard(lc, profile="lending_club_2007_2011_without_pricing", test_from="2011-01-01")
    return write_training_report(
        result,
        tmp_path_factory.mktemp("report") / "report.html",
        compare=(variant, VARIANT_LABEL),
        label=FULL_LABEL,
        segment="addr_state",
    )


@pytest.fixture(scope="module")
def page(report):
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the playwright package is missing: `pip install playwright` (the browser is Debian's chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_chromium(), args=CHROMIUM_ARGS, headless=True)
        pg = browser.new_page(viewport={"width": 1280, "height": 1000})
        pg.set_default_timeout(15000)
        pg.goto(report.resolve().as_uri())
        yield pg
        browser.close()


def test_every_section_renders_with_a_heading(page):
    for section in SECTIONS:
        loc = page.locator(f"section#{section}")
        assert loc.count() == 1, section
        assert loc.is_visible(), section
        assert loc.locator("h2").inner_text().strip(), section
    nav = page.locator("nav a").evaluate_all("links => links.map(a => a.getAttribute('href').slice(1))")
    assert nav == list(SECTIONS)


def test_no_table_is_empty(page):
    tables = page.eval_on_selector_all(
        "table",
        """ts => ts.map(t => ({
            cls: t.className,
            section: t.closest('section') ? t.closest('section').id : '',
            rows: Array.from(t.querySelectorAll('tbody tr')).map(r =>
                Array.from(r.querySelectorAll('td')).map(c => c.innerText.trim())),
        }))""",
    )
    assert len(tables) > 30
    for t in tables:
        where = f"table {t['cls']!r} in section {t['section']!r}"
        assert t["rows"], f"{where} has no rows"
        for row in t["rows"]:
            assert any(cell not in ("", "–") for cell in row), f"{where} has an empty row: {row}"
            for cell in row:
                assert cell not in ("nan", "NaN", "None", "inf", "-inf"), f"{where}: {row}"
    sections = {t["section"] for t in tables}
    assert sections >= set(SECTIONS) - {"limitations", "notes", "rank-ordering"}


def test_figures_load_and_counts_are_integers(page):
    sizes = page.eval_on_selector_all("img", "imgs => imgs.map(i => [i.complete, i.naturalWidth])")
    assert len(sizes) > 15 and all(done and width > 100 for done, width in sizes)
    text = page.locator("body").inner_text()
    assert "e+0" not in text  # 1.5e+04 was how the points table printed 14,995
    assert "2,749" in text and "42,535" in text  # the dropped rows, in the data-quality table


def test_headline_and_sections_show_the_packs_numbers(page, report):
    pack = json.loads(report.with_suffix(".json").read_text(encoding="utf-8"))
    test = next(d for d in pack["discrimination"] if d["sample"] == "test")
    headline = page.locator("dl.headline").inner_text()
    assert f"{test['auc']:.3f} [{test['auc_ci_low']:.3f}, {test['auc_ci_high']:.3f}]" in headline
    psi = pack["stability"]["score"][0]["stat"]["psi"]
    assert f"{psi:.3f}" in headline
    limitations = page.locator("section#limitations li")
    assert limitations.count() == len(pack["limitations"])
    gains = page.locator("section#gains table").first.locator("tbody tr")
    assert gains.count() == 11  # 10 bands and the total


def test_side_by_side_and_segments_show_the_packs_numbers(page, report):
    pack = json.loads(report.with_suffix(".json").read_text(encoding="utf-8"))
    c = pack["comparison"]
    rows = page.locator("section#comparison table tbody tr")
    assert rows.count() == 2
    for i, m in enumerate(c["models"]):
        cells = rows.nth(i).locator("td").all_inner_texts()
        assert cells[0] == m["label"]
        assert f"{m['auc']:.4f} [{m['auc_ci_low']:.4f}, {m['auc_ci_high']:.4f}]" in cells
        assert f"{m['ks']:.4f}" in cells and f"{m['gini']:.4f}" in cells and str(m["n_characteristics"]) in cells
        assert cells[-1] == "; ".join(m["top_reasons"])
    text = page.locator("section#comparison").inner_text()
    assert c["text"] in text and f"keeps {c['gini_share']:.0%} of the Gini" in text
    seg = page.locator("section#segments table tbody tr")
    assert seg.count() == len(pack["segments"]["rows"]) > 10
    small = [i for i, r in enumerate(pack["segments"]["rows"]) if r["too_small"]]
    assert small and all("too small" in seg.nth(i).inner_text() for i in small)
    assert "Discrimination by addr_state" in page.locator("section#segments h2").inner_text()


def test_screenshot(page, tmp_path):
    """The first screens of the report, as docs/report_screenshot.png shows them."""
    from PIL import Image

    png = page.screenshot(clip={"x": 0, "y": 0, "width": 1280, "height": 2000}, full_page=True)
    image = Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=128)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    data = buffer.getvalue()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) < SCREENSHOT_MAX_BYTES
    target = os.environ.get("LENDSCORE_WRITE_SCREENSHOT")
    (Path(target) if target else tmp_path / "report_screenshot.png").write_bytes(data)

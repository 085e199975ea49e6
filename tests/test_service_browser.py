"""The loan officers' page in a real headless browser (Debian's chromium driven by Playwright).

Needs ``apt-get install -y chromium`` and ``pip install playwright`` (no `playwright install`:
the system chromium is used). When chromium is missing the test FAILS with how to install it.
"""

from __future__ import annotations

import os
import shutil

import pytest

from lendscore.service.testing import ServerProcess, cached_demo_model, demo_keys, write_settings

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _get(server, path: str) -> dict:
    import httpx

    r = httpx.get(server.base_url + path, headers={"X-API-Key": server.keys["officer"]}, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def _chromium() -> str:
    path = os.environ.get("LENDSCORE_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.fail("chromium not found: install it with `apt-get install -y chromium` (or set LENDSCORE_CHROMIUM)")
    return path


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    return cached_demo_model(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def server(tmp_path_factory, model_path):
    tmp = tmp_path_factory.mktemp("browser")
    keys = demo_keys()
    settings = write_settings(
        tmp / "settings.toml",
        model=model_path,
        audit_url=f"sqlite:///{tmp / 'audit.db'}",
        keys=keys,
        log_level="WARNING",
    )
    srv = ServerProcess(settings, tmp / "server.log").start()
    srv.keys = keys
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def page():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the playwright package is missing: `pip install playwright` (the browser is Debian's chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_chromium(), args=CHROMIUM_ARGS, headless=True)
        pg = browser.new_page()
        pg.set_default_timeout(15000)
        yield pg
        browser.close()


def test_officer_decides_an_application(server, page):
    page.goto(server.base_url + "/")
    assert page.title().startswith("lendscore")
    # a scorer key may not use the page
    page.fill("#api-key", server.keys["scorer"])
    page.click("#login-button")
    page.wait_for_selector("#login-error:has-text('officer')")
    page.fill("#api-key", server.keys["officer"])
    page.click("#login-button")
    page.wait_for_selector("#app:not([hidden])")
    assert "officer-client" in page.text_content("#who")

    page.fill("[name='loan.amount']", "12000")
    page.fill("[name='loan.annual_rate']", "0.13")
    page.fill("[name='loan.term_months']", "36")
    page.fill("[name='finances.gross_income']", "4000")
    page.fill("[name='finances.existing_obligations']", "1500")
    page.fill("[name='applicant_id']", "BR-1")
    # the form asks for the raw fields (dates as dates), never for what the model derives
    for derived in ("nth", "nth_ratio", "credit_age_months", "installment"):
        assert page.locator(f"[name='applicant.{derived}']").count() == 0, derived
    assert page.get_attribute("[name='applicant.issue_d']", "type") == "date"
    assert page.get_attribute("[name='applicant.earliest_cr_line']", "type") == "date"
    assert page.get_attribute("[name='applicant.annual_inc']", "min") == "0.0"
    page.fill("[name='applicant.issue_d']", "2011-06-01")
    page.fill("[name='applicant.earliest_cr_line']", "2001-03-01")
    page.fill("[name='applicant.loan_amnt']", "12000")
    page.fill("[name='applicant.int_rate']", "0.13")
    page.fill("[name='applicant.annual_inc']", "48000")
    page.fill("[name='applicant.dti']", "15")
    page.fill("[name='applicant.term']", "36")
    page.fill("[name='applicant.sub_grade']", "E3")
    page.fill("[name='applicant.purpose']", "space_travel")  # not a purpose seen in training
    page.fill("[name='applicant.revol_util']", "0.95")
    page.fill("[name='applicant.inq_last_6mths']", "4")
    page.click("#decide")
    page.wait_for_selector("#result:not([hidden])")
    if os.environ.get("LENDSCORE_SCREENSHOT"):
        page.screenshot(path=os.environ["LENDSCORE_SCREENSHOT"], full_page=True)

    outcome = page.text_content("#outcome")
    assert outcome in ("approve", "refer", "decline")
    assert page.locator("#reasons li").count() >= 1
    if outcome != "approve":
        assert page.locator("#reasons li").first.text_content()[:1] in ("P", "S")
    # the NTH breakdown: income, deductions, net, obligations, instalment, what is left
    labels = page.locator("#nth-table th").all_text_contents()
    assert labels == [
        "Gross income",
        "- Deductions",
        "= Net income",
        "- Existing obligations",
        "- New instalment",
        "= Left (NTH)",
    ]
    values = [float(v.replace(",", "")) for v in page.locator("#nth-table td").all_text_contents()]
    assert values[0] == 4000.0 and values[3] == 1500.0
    assert abs(values[2] - values[3] - values[4] - values[5]) < 0.02
    # one NTH: the score used the one shown (derived from these finances and this loan)
    assert "The score used this NTH" in page.text_content("#nth-note")
    stored = _get(server, "/v1/decisions/" + page.text_content("#decision-id"))
    assert abs(values[5] - stored["affordability"]["nth"]) < 0.006
    # the warnings: the unseen purpose is named
    warned = page.locator("#warnings li.warning").all_text_contents()
    assert any(w.startswith("purpose = space_travel") and "not seen in training" in w for w in warned), warned
    assert len(warned) == len(stored["warnings"]) >= 1
    # where the score sits on the scale
    assert page.locator("#scale .band").count() >= 2
    # every policy band is drawn, the ones unbounded on a side (null edge) too
    assert page.locator("#scale .band").count() == len(_get(server, "/v1/scale")["bands"])
    marker = float(page.get_attribute("#scale-marker", "data-score"))
    assert abs(marker - float(page.text_content("#score").replace(",", ""))) < 0.06
    left = page.evaluate("parseFloat(document.getElementById('scale-marker').style.left)")
    assert 0 <= left <= 100

    # the recent list shows it; clicking reloads it
    decision_id = page.text_content("#decision-id")
    page.wait_for_selector(f"#recent tbody tr[data-id='{decision_id}']")
    assert "BR-1" in page.text_content(f"#recent tbody tr[data-id='{decision_id}']")


def test_bad_input_is_shown_field_by_field(server, page):
    page.fill("[name='loan.term_months']", "0")
    page.click("#decide")
    page.wait_for_selector("#errors li")
    assert "loan.term_months" in page.text_content("#errors")


def test_a_value_the_derivation_refuses_is_shown_by_field(server, page):
    page.fill("[name='loan.term_months']", "36")
    page.fill("[name='applicant.earliest_cr_line']", "2011-09-01")  # after the application date
    page.click("#decide")
    page.wait_for_selector("#errors li:has-text('earliest_cr_line')")
    assert "must not be after the application date" in page.text_content("#errors")


def test_sign_out_forgets_the_key(server, page):
    page.click("#logout")
    assert page.is_visible("#login")
    assert page.evaluate("sessionStorage.getItem('lendscore.key')") is None

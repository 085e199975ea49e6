"""The HTML validation report, built from a seeded synthetic scorecard."""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from lendscore.validation import choose_threshold, evaluate

FACTOR = 20 / np.log(2)  # pdo = 20
OFFSET = 600 - FACTOR * np.log(50)  # base_points = 600 at base_odds 50:1
GRADE_EDGES = [0.0, 0.02, 0.05, 0.10, 0.20, 1.0]


def make_context(n: int = 4000, n_characteristics: int = 6, seed: int = 0, *, bootstrap: bool = False):
    """A ReportContext for a fake WoE scorecard: n rows split 70/30 into train and test."""
    from lendscore.reports import ReportContext, SplitResult

    rng = np.random.default_rng(seed)
    names = [f"char_{i:02d}" for i in range(n_characteristics)]
    woe_tables = {c: np.sort(rng.normal(0, 0.6, rng.integers(3, 7))) for c in names}
    bins = {c: rng.integers(0, w.size, n) for c, w in woe_tables.items()}
    coefs = pd.Series(rng.uniform(0.3, 1.0, n_characteristics), index=names)
    intercept = -2.6
    logit = intercept - sum(coefs[c] * woe_tables[c][bins[c]] for c in names)
    pd_ = 1 / (1 + np.exp(-logit))
    y = (rng.random(n) < pd_).astype(int)
    score = OFFSET - FACTOR * logit
    grade_labels = list("ABCDE")
    grade = np.asarray(pd.cut(pd_, GRADE_EDGES, labels=grade_labels, include_lowest=True).astype(str))
    train = np.arange(n) < int(0.7 * n)

    rows = []
    for c in names:
        for b, woe in enumerate(woe_tables[c]):
            mask = train & (bins[c] == b)
            n_bin, n_event = int(mask.sum()), int(y[mask].sum())
            rows.append(
                {
                    "characteristic": c,
                    "bin": f"[{b}, {b + 1})",
                    "n": n_bin,
                    "n_event": n_event,
                    "n_nonevent": n_bin - n_event,
                    "event_rate": n_event / max(n_bin, 1),
                    "woe": woe,
                    "iv": 0.01 * abs(woe),
                    "points": FACTOR * coefs[c] * woe,
                }
            )
    points = pd.DataFrame(rows)
    coef = pd.DataFrame(
        {"coef": [intercept, *coefs], "std_err": 0.05}, index=pd.Index(["(intercept)", *names], name="term")
    )
    coef["z"] = coef["coef"] / coef["std_err"]
    coef["p_value"] = 1e-6
    coef["ci_low"] = coef["coef"] - 1.96 * coef["std_err"]
    coef["ci_high"] = coef["coef"] + 1.96 * coef["std_err"]
    selection = pd.DataFrame(
        {
            "feature": [*names, "zip_code", "emp_title"],
            "iv": [0.1] * n_characteristics + [0.3, 0.005],
            "selected": [True] * n_characteristics + [False, False],
            "reason": [""] * n_characteristics + ["refused: proxy for a protected attribute", "IV < 0.02"],
        }
    )
    grades = [
        {
            "grade": g,
            "pd_min": lo,
            "pd_max": hi,
            "score_min": OFFSET - FACTOR * np.log(hi / (1 - hi)) if hi < 1 else 0.0,
            "score_max": OFFSET - FACTOR * np.log(lo / (1 - lo)) if lo > 0 else 1000.0,
        }
        for g, lo, hi in zip(grade_labels, GRADE_EDGES[:-1], GRADE_EDGES[1:], strict=True)
    ]
    counts = [
        {
            "characteristic": c,
            "bin": b,
            "sample": name,
            "n_event": int(y[m & (bins[c] == b)].sum()),
            "n_nonevent": int((m & (bins[c] == b) & (y == 0)).sum()),
        }
        for c in names
        for b in range(woe_tables[c].size)
        for name, m in (("train", train), ("test", ~train))
    ]
    design = pd.DataFrame({c: woe_tables[c][bins[c][train]] for c in names})
    threshold, rule = choose_threshold(y[train], pd_[train], "f1")
    splits = {}
    for name, mask in (("train", train), ("test", ~train)):
        splits[name] = SplitResult(
            y=y[mask],
            pd=pd_[mask],
            score=score[mask],
            grade=grade[mask],
            metrics=evaluate(y[mask], pd_[mask], threshold, bootstrap=bootstrap, n_boot=100),
        )
    return ReportContext(
        title="Validation report <synthetic>",
        model_info={
            "name": "synthetic-scorecard",
            "version": "0.1.0",
            "created": "2024-01-01T00:00:00Z",
            "training data fingerprint": "sha256:0123abcd",
            "n features": n_characteristics,
            "parameters": {"pdo": 20, "base_points": 600, "base_odds": 50},
        },
        splits=splits,
        threshold=threshold,
        threshold_rule=rule,
        coef_table=coef,
        points_table=points,
        selection=selection,
        grades=grades,
        data_quality={
            "rows_in": n + 37,
            "rows_out": n,
            "rules": [{"rule": "loan_amnt > 0", "column": "loan_amnt", "action": "drop row", "n_rows": 37}],
        },
        notes=["Synthetic data for the test suite."],
        bin_counts=pd.DataFrame(counts),
        woe_design=design,
        scaling=(OFFSET, FACTOR),
        data_limitations=["synthetic has no affordability fields"],
    )


@pytest.fixture(scope="module")
def context():
    return make_context(bootstrap=True)


@pytest.fixture(scope="module")
def html(context):
    from lendscore.reports import render_report

    return render_report(context)


SECTIONS = (
    "summary",
    "data",
    "discrimination",
    "gains",
    "rank-ordering",
    "calibration",
    "stability",
    "characteristics",
    "coefficients",
    "selection",
    "correlation",
    "cutoff",
    "limitations",
    "notes",
)


def test_report_has_every_section(html):
    for section in SECTIONS:
        assert f'<section id="{section}">' in html
    for text in (
        "Hosmer-Lemeshow: statistic",
        "binomial p-value",
        "maximises F1",
        "IV &lt; 0.02",
        "refused: proxy for a protected attribute",
        "sha256:0123abcd",
        "loan_amnt &gt; 0",
        "pdo=20",
        "synthetic has no affordability fields",
        "Score PSI, train &rarr; test",
        "(model)</td>",
    ):
        assert text in html, text


def test_report_shows_calibration_results(html, context):
    from lendscore.validation import calibration_by_group, hosmer_lemeshow

    test = context.splits["test"]
    hl = hosmer_lemeshow(test.y, test.pd)
    assert f"statistic {hl.statistic:.3f} on 8 degrees of freedom, p-value {hl.p_value:.4g}" in html
    for row in calibration_by_group(test.y, test.pd, test.grade).itertuples():
        cells = f"<td>{row.group}</td><td>{row.n:,}</td><td>{row.n_event:,}</td><td>{row.predicted_pd:.2%}</td>"
        assert cells in html


def test_report_shows_metric_values(html, context):
    for split in ("train", "test"):
        m = context.splits[split].metrics
        assert f"{m['auc']:.4f} [{m['auc_ci_low']:.4f}, {m['auc_ci_high']:.4f}]" in html
        assert f"{m['ks']:.4f}" in html and f"{m['gini']:.4f}" in html and f"{m['brier']:.4f}" in html
    assert f"{context.threshold:.4f}" in html


def test_report_embeds_png_figures(html, context):
    images = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    n_char = context.points_table["characteristic"].nunique()
    # ROC, bad rate by band, KS/dist/calibration per split, score bands per validation split, WoE
    assert len(images) == 2 + 3 * len(context.splits) + (len(context.splits) - 1) + n_char
    assert all(base64.b64decode(img)[:8] == b"\x89PNG\r\n\x1a\n" for img in images)
    assert "http://" not in html and "https://" not in html  # self-contained


def test_report_is_autoescaped(html):
    assert "<synthetic>" not in html and "Validation report &lt;synthetic&gt;" in html


def test_write_report_and_missing_metrics(tmp_path):
    from lendscore.reports import write_report

    ctx = make_context(n=1500, n_characteristics=2, seed=1)
    ctx.splits["train"].metrics = None  # computed when rendering
    ctx.data_quality = None
    ctx.notes = []
    ctx.bin_counts = ctx.woe_design = None  # the sections fall back to the points table and say so
    path = write_report(ctx, tmp_path / "report.html")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "No data-quality record" in text
    assert "CSI not computed" in text and "correlation and VIF not computed" in text
    assert not (tmp_path / "report.json").exists()  # the JSON pack only when asked for


def test_data_quality_lists_rows_per_rule(tmp_path):
    """The quality report's own dict (``issues``) fills the table: one row per rule with its count."""
    from lendscore.data import DataQualityReport
    from lendscore.data.quality import QualityIssue
    from lendscore.reports import render_report

    ctx = make_context(n=1500, n_characteristics=2, seed=3)
    issue = QualityIssue("target_out_of_scope", "loan_status", "rejected", 2749, [], "not modelled")
    ctx.data_quality = DataQualityReport(rows_in=42535, rows_out=39786, issues=[issue]).to_dict()
    html = render_report(ctx)
    assert "<td>target_out_of_scope</td><td>loan_status</td><td>rejected</td><td>2,749</td>" in html
    assert "dropped: <strong>2,749</strong>" in html


def test_counts_print_as_integers(html):
    from lendscore.reports._format import table

    t = table(pd.DataFrame({"n": [14995.0], "n_event": [1728.0], "woe": [0.149319]}))
    assert t["rows"] == [["14995", "1728", "0.1493"]]
    assert not re.search(r"\de\+\d", re.sub(r"base64,[^\"]+", "", html))  # no 1.5e+04


def test_plots_return_figures(tmp_path):
    from matplotlib.figure import Figure

    from lendscore.reports import plots

    rng = np.random.default_rng(2)
    score = rng.normal(600, 50, 500)
    fig = plots.score_hist(score, reference=score + 10)
    assert isinstance(fig, Figure)
    fig = plots.score_hist(score, bins=np.linspace(400, 800, 9))
    fig.savefig(tmp_path / "hist.png")
    assert (tmp_path / "hist.png").read_bytes()[:4] == b"\x89PNG"


def test_validation_does_not_import_matplotlib_and_reports_avoid_pyplot():
    code = (
        "import sys, lendscore.validation\n"
        "print(sorted(m for m in sys.modules if m.startswith('matplotlib')))\n"
        "from lendscore.reports import score_hist\n"
        "score_hist([1.0, 2.0, 3.0]).savefig(__import__('io').BytesIO(), format='png')\n"
        "print('matplotlib.pyplot' in sys.modules)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.split() == ["[]", "False"]

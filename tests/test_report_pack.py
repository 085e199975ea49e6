"""The validation pack (``report.json``): its schema, and its numbers against independent computations.

Reference numbers come from elsewhere than the code under test: scikit-learn's ``roc_auc_score``,
SciPy's two-sample KS, hand-worked tables, the confusion matrix and raw value counts.
"""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError
from scipy import stats
from sklearn.metrics import roc_auc_score

from lendscore.data import bundled_path
from lendscore.reports.pack_schema import ValidationPack
from lendscore.training import train_scorecard
from test_report import make_context


@pytest.fixture(scope="module")
def bundled(tmp_path_factory):
    """The demo's training run on the bundled Lending Club data, and the report it writes."""
    from lendscore.reports.from_training import write_training_report

    result = train_scorecard(bundled_path("lending_club"), profile="lending_club_2007_2011", test_from="2011-01-01")
    out = tmp_path_factory.mktemp("pack")
    write_training_report(result, out / "report.html")
    return result, out


@pytest.fixture(scope="module")
def pack(bundled) -> dict:
    return json.loads((bundled[1] / "report.json").read_text(encoding="utf-8"))


# ---------------------------------------------------------------- the file and its schema
def test_report_json_is_written_beside_the_html_and_validates(bundled, pack):
    _, out = bundled
    assert (out / "report.html").stat().st_size > 100_000
    model = ValidationPack.model_validate_json((out / "report.json").read_text(encoding="utf-8"))
    assert model.schema_version == 1 and model.reference_sample == "train"
    assert [s["name"] for s in pack["samples"]] == ["train", "test"]


def test_json_path_and_opt_out(bundled, tmp_path):
    from lendscore.reports.from_training import write_training_report

    result, _ = bundled
    write_training_report(result, tmp_path / "a.html", json_path=tmp_path / "a-pack.json")
    write_training_report(result, tmp_path / "b.html", write_json=False)
    assert ValidationPack.model_validate_json((tmp_path / "a-pack.json").read_text(encoding="utf-8"))
    assert {p.name for p in tmp_path.iterdir()} == {"a.html", "a-pack.json", "b.html"}


@pytest.mark.parametrize(
    "where",
    [
        lambda p: p,
        lambda p: p["gains"]["samples"][0]["rows"][0],
        lambda p: p["characteristics"][0]["bins"][0]["samples"]["test"],
        lambda p: p["stability"]["score"][0]["stat"],
        lambda p: p["limitations"][0],
    ],
    ids=["top", "gains row", "bin sample", "psi stat", "limitation"],
)
def test_schema_refuses_unknown_keys(pack, where):
    data = json.loads(json.dumps(pack))
    where(data)["surprise"] = 1
    with pytest.raises(ValidationError, match="surprise"):
        ValidationPack.model_validate(data)


def test_schema_refuses_a_missing_section_and_a_wrong_type(pack):
    data = json.loads(json.dumps(pack))
    del data["cutoffs"]
    with pytest.raises(ValidationError, match="cutoffs"):
        ValidationPack.model_validate(data)
    data = json.loads(json.dumps(pack))
    data["gains"]["samples"][0]["rows"][0]["n"] = "many"
    with pytest.raises(ValidationError):
        ValidationPack.model_validate(data)


def test_every_section_is_filled(bundled, pack):
    result, _ = bundled
    for key in (
        "model",
        "samples",
        "discrimination",
        "rank_ordering",
        "calibration",
        "master_scale",
        "characteristics",
        "coefficients",
        "selection",
        "vif",
        "limitations",
        "notes",
    ):
        assert pack[key], key
    assert [c["characteristic"] for c in pack["characteristics"]] == result.model.selected_features_
    assert [c["term"] for c in pack["coefficients"]] == list(result.model.coef_table_.index)
    assert all(len(g["rows"]) == 10 for g in pack["gains"]["samples"])
    assert len(pack["stability"]["characteristics"]) == len(result.model.selected_features_)
    for s in pack["cutoffs"]["samples"]:
        assert len(s["rows"]) == 10 and sum(r["model_cutoff"] for r in s["rows"]) == 1
    R = np.array(pack["correlation"]["matrix"])
    np.testing.assert_allclose(R, R.T, atol=1e-12)
    np.testing.assert_allclose(np.diag(R), 1.0)


def test_data_quality_counts_rows_per_rule(bundled, pack):
    result, _ = bundled
    dq = pack["data_quality"]
    assert (dq["rows_in"], dq["rows_out"], dq["n_dropped"]) == (42_535, 39_786, 2_749)
    assert [(r["rule"], r["n_rows"]) for r in dq["rules"]] == [(i.rule, i.n_rows) for i in result.data_quality.issues]
    assert sum(r["n_rows"] for r in dq["rules"] if r["action"] == "rejected") == dq["n_dropped"]
    assert {d["column"] for d in dq["dropped_columns"]} == set(result.data_quality.dropped_columns)


# ---------------------------------------------------------------- numbers against independent computations
def test_discrimination_matches_scikit_learn_and_scipy(bundled, pack):
    result, _ = bundled
    rows = {d["sample"]: d for d in pack["discrimination"]}
    for name, (y, details) in result.samples.items():
        p = details["pd"].to_numpy()
        auc = roc_auc_score(y, p)
        assert rows[name]["auc"] == pytest.approx(auc, abs=1e-12)
        assert rows[name]["gini"] == pytest.approx(2 * auc - 1, abs=1e-12)
        assert rows[name]["auc_ci_low"] < auc < rows[name]["auc_ci_high"]
        assert rows[name]["ks"] == pytest.approx(stats.ks_2samp(p[y == 1], p[y == 0]).statistic, abs=1e-12)


def test_gains_totals_match_the_confusion_counts(bundled, pack):
    result, _ = bundled
    confusion = {c["sample"]: c for c in pack["classification"]["confusion"]}
    cutoffs = {s["sample"]: s["rows"] for s in pack["cutoffs"]["samples"]}
    threshold = pack["classification"]["threshold"]
    for g in pack["gains"]["samples"]:
        c = confusion[g["sample"]]
        rows = g["rows"]
        assert sum(r["n_event"] for r in rows) == g["n_event"] == c["tp"] + c["fn"]
        assert sum(r["n_nonevent"] for r in rows) == c["tn"] + c["fp"]
        assert sum(r["n"] for r in rows) == g["n"] == c["tn"] + c["fp"] + c["fn"] + c["tp"]
        assert (rows[-1]["cum_n_event"], rows[-1]["cum_n_nonevent"]) == (c["tp"] + c["fn"], c["tn"] + c["fp"])
        assert rows[-1]["capture_rate"] == pytest.approx(1.0) and rows[-1]["cum_share"] == pytest.approx(1.0)
        # approving score >= the model's cut-off is predicting "good" (PD < cut-off), up to rows on the cut-off
        y, details = result.samples[g["sample"]]
        on_cut = int(np.isclose(details["pd"].to_numpy(), threshold, rtol=0, atol=1e-12).sum())
        model_row = next(r for r in cutoffs[g["sample"]] if r["model_cutoff"])
        assert abs(model_row["n_approved"] - (c["tn"] + c["fn"])) <= on_cut
        assert abs(model_row["n_event_approved"] - c["fn"]) <= on_cut


def test_gain_bands_are_the_monitoring_reference_deciles(bundled, pack):
    result, _ = bundled
    ref = result.model.metadata_["monitoring_reference"]
    assert pack["gains"]["score_edges"] == pytest.approx(ref["score_edges"])
    train = next(g for g in pack["gains"]["samples"] if g["sample"] == "train")
    assert [r["n"] for r in train["rows"]] == [int(n) for n in ref["score_counts"]]


def test_csi_of_term_matches_a_hand_computation_on_raw_values(bundled, pack):
    result, _ = bundled
    e = result.X_train["term"].value_counts(normalize=True).sort_index()
    a = result.X_test["term"].value_counts(normalize=True).sort_index()
    assert list(e.index) == list(a.index) == [36, 60]
    by_hand = float(((a - e) * np.log(a / e)).sum())
    row = next(c for c in pack["stability"]["characteristics"] if c["characteristic"] == "term")
    assert row["psi"] == pytest.approx(by_hand, rel=1e-12) and not row["smoothed"]


def test_score_psi_matches_a_hand_worked_table():
    """Train bands hold 10/20/30/40 % of the rows, test bands 20/20/30/30 %.

    PSI = (0.2 - 0.1) ln 2 + 0 + 0 + (0.3 - 0.4) ln(0.75) = 0.0693147 + 0.0287682 = 0.0980829;
    chi-square of the 1,200 test rows against 120/240/360/480: 120 + 0 + 0 + 30 = 150 on 3 df.
    """
    from lendscore.reports import build_pack

    ctx = make_context(n=4000, n_characteristics=2, seed=4)
    train, test = ctx.splits["train"], ctx.splits["test"]
    assert (len(train.y), len(test.y)) == (2800, 1200)
    train.score = np.repeat([0.5, 1.5, 2.5, 3.5], [280, 560, 840, 1120])
    test.score = np.repeat([0.5, 1.5, 2.5, 3.5], [240, 240, 360, 360])
    ctx.score_edges = [1.0, 2.0, 3.0]
    stat = build_pack(ctx).stability.score[0].stat
    assert stat.psi == pytest.approx(0.1 * math.log(2) - 0.1 * math.log(0.75), abs=1e-12)
    assert stat.psi == pytest.approx(0.0980829, abs=1e-7)
    assert (stat.chi2, stat.df) == (pytest.approx(150.0), 3)
    assert stat.p_value == pytest.approx(stats.chi2.sf(150.0, 3))


# ---------------------------------------------------------------- the tables, worked by hand
def test_gains_table_worked_example():
    from lendscore.reports import gains_table

    y = [1, 1, 0, 1, 0, 0, 0, 0]
    score = [1, 2, 3, 4, 5, 6, 7, 8]
    g = gains_table(y, score, [2.5, 5.5])
    assert g["n"].tolist() == [2, 3, 3] and g["n_event"].tolist() == [2, 1, 0]
    np.testing.assert_allclose(g["bad_rate"], [1, 1 / 3, 0])
    np.testing.assert_allclose(g["odds"], [0, 2, np.nan])
    np.testing.assert_allclose(g["capture_rate"], [2 / 3, 1, 1])
    np.testing.assert_allclose(g["cum_share"], [2 / 8, 5 / 8, 1])
    np.testing.assert_allclose(g["lift"], [8 / 3, 8 / 9, 0])
    np.testing.assert_allclose(g["cum_lift"], [8 / 3, 1.6, 1])
    assert g["cum_n_nonevent"].tolist() == [0, 2, 5]
    assert (g["score_min"].iloc[0], g["score_max"].iloc[-1]) == (-np.inf, np.inf)


def test_rank_ordering_flags_reversals_with_their_test():
    from lendscore.reports import rank_ordering

    gains = pd.DataFrame(
        {
            "band": [1, 2, 3, 4, 5],
            "n": [1000, 1000, 1000, 0, 1000],
            "n_event": [300, 200, 210, 0, 100],
        }
    )
    gains["n_nonevent"] = gains["n"] - gains["n_event"]
    gains["bad_rate"] = gains["n_event"] / gains["n"].where(gains["n"] > 0)
    ro = rank_ordering(gains)
    assert ro["band"].tolist() == [1, 2, 3, 5]  # the empty band is skipped
    assert ro["breaks"].tolist() == [False, False, True, False]
    brk = ro.iloc[2]
    # one-sided Fisher exact test: P(X >= 210) for X ~ Hypergeometric(2000 rows, 410 bads, 1000 drawn)
    assert brk["p_value"] == pytest.approx(stats.hypergeom.sf(209, 2000, 410, 1000), rel=1e-9)
    assert brk["previous_band"] == 2 and not brk["significant"]
    assert ro.iloc[3]["previous_band"] == 3  # band 5 is compared with band 3, across the empty band 4


def test_cutoff_strategy_worked_example():
    from lendscore.reports import cutoff_strategy

    t = cutoff_strategy(
        [1, 0, 1, 0], [1, 2, 3, 4], [0.4, 0.3, 0.2, 0.1], [2.5], lgd=0.5, exposure=[100, 200, 300, 400]
    ).iloc[0]
    assert (t["n_approved"], t["n_event_approved"]) == (2, 1)
    assert (t["approval_rate"], t["bad_rate"], t["bads_declined_share"]) == (0.5, 0.5, 0.5)
    assert t["exposure_approved"] == 700
    assert t["expected_loss"] == pytest.approx(0.5 * (0.2 * 300 + 0.1 * 400))  # 50
    assert t["observed_loss"] == pytest.approx(0.5 * 300)


# ---------------------------------------------------------------- limitations, and older results
def test_limitations_state_the_facts(bundled, pack):
    texts = [lim["text"] for lim in pack["limitations"]]
    for c in pack["coefficients"]:
        if c["expected_sign"] and c["p_value"] >= 0.05:
            assert any(t.startswith(f"{c['term']} is kept although not significant") for t in texts), c["term"]
    assert any("int_rate is kept" in t and "p = 0.2;" in t for t in texts)
    assert any("2,749 of 42,535 rows" in t for t in texts)
    moved = [c for c in pack["stability"]["characteristics"] if c["flag"] != "stable"]
    assert moved and all(any(f"{c['characteristic']} {c['psi']:.3f}" in t for t in texts) for c in moved)
    assert {lim["topic"] for lim in pack["limitations"]} >= {"significance", "small_bins", "data", "stability"}


def test_a_result_without_training_rows_still_reports(bundled, tmp_path):
    """A TrainingResult built without X_train (as before it was kept) falls back to the model's counts."""
    from lendscore.reports.from_training import write_training_report

    result, _ = bundled
    old = dataclasses.replace(result, X_train=None, amount_column=None)
    write_training_report(old, tmp_path / "report.html")
    p = ValidationPack.model_validate_json((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert p.correlation is None and p.cutoffs.exposure == "1 per loan"
    assert set(p.characteristics[0].bins[0].samples) == {"train"}
    term = result.model.points_table().query("characteristic == 'term'")
    assert [b.samples["train"].n for b in p.characteristics[0].bins] == term["n"].astype(int).tolist()


# ---------------------------------------------------------------- side by side, segments, rounding
@pytest.fixture(scope="module")
def compared(bundled, tmp_path_factory):
    """The demo's main report: with the model without the lender's pricing beside it, by state."""
    from lendscore.cli._demo import FULL_LABEL, VARIANT_LABEL
    from lendscore.reports.from_training import write_training_report

    result, _ = bundled
    variant = train_scorecard(
        bundled_path("lending_club"), profile="lending_club_2007_2011_without_pricing", test_from="2011-01-01"
    )
    out = tmp_path_factory.mktemp("compared") / "report.html"
    write_training_report(result, out, compare=(variant, VARIANT_LABEL), label=FULL_LABEL, segment="addr_state")
    return result, variant, json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))


def test_side_by_side_shows_both_models_on_the_test_sample(compared, pack):
    from lendscore.reports.comparison import top_score_reasons

    result, variant, p = compared
    assert pack["comparison"] is None and pack["segments"] is None  # only when asked for
    c = p["comparison"]
    assert c["sample"] == "test" and len(c["models"]) == 2
    for m, r in zip(c["models"], (result, variant), strict=True):
        t = r.metrics["test"]
        assert (m["auc"], m["auc_ci_low"], m["auc_ci_high"], m["ks"]) == (
            t["auc"],
            t["auc_ci_low"],
            t["auc_ci_high"],
            t["ks"],
        )
        assert m["gini"] == pytest.approx(2 * t["auc"] - 1) and m["n"] == t["n"]
        assert m["n_characteristics"] == len(r.model.characteristics_)
        assert m["top_reasons"] == top_score_reasons(r) and len(m["top_reasons"]) == 3  # the CLI's definition
    full, own = c["models"]
    assert c["gini_share"] == pytest.approx(own["gini"] / full["gini"])
    assert 0.8 < c["gini_share"] < 1  # the scorecard's own reading is most of it
    assert f"keeps {c['gini_share']:.0%} of the Gini" in c["text"] and "own reading of the applicant" in c["text"]
    assert {"sub_grade", "int_rate"} & set(result.model.characteristics_)
    assert not {"grade", "sub_grade", "int_rate"} & set(variant.model.characteristics_)


def test_segments_by_a_column_that_is_not_a_model_input(compared):
    from sklearn.metrics import roc_auc_score as sk_auc

    result, _, p = compared
    s = p["segments"]
    assert "addr_state" not in result.X_test.columns  # excluded by the profile: read from the raw rows
    assert s["column"] == "addr_state" and s["sample"] == "test" and s["min_rows"] == 30
    assert sum(r["n"] for r in s["rows"]) == len(result.X_test)
    y, d = result.samples["test"]
    state = result.raw_test["addr_state"].to_numpy()
    for r in s["rows"]:
        mask = state == r["value"]
        assert r["n"] == mask.sum() and r["n_event"] == y[mask].sum()
        if r["too_small"]:
            assert r["auc"] is None and (r["n"] < 30 or r["n_event"] in (0, r["n"]))
        else:
            assert r["auc"] == pytest.approx(sk_auc(y[mask], d["pd"].to_numpy()[mask]))
            assert r["auc_ci_low"] <= r["auc"] <= r["auc_ci_high"] and r["gini"] == pytest.approx(2 * r["auc"] - 1)
    assert any(r["too_small"] for r in s["rows"])  # listed, not dropped


def test_a_segment_column_that_is_missing_or_constant_is_refused(bundled, tmp_path):
    from lendscore.errors import ConfigError
    from lendscore.reports.from_training import write_training_report

    result, _ = bundled
    with pytest.raises(ConfigError, match="'no_such_column' not found"):
        write_training_report(result, tmp_path / "r.html", segment="no_such_column")
    one = dataclasses.replace(result, raw_test=result.raw_test.assign(flat="x"))
    with pytest.raises(ConfigError, match="'flat' has a single value"):
        write_training_report(one, tmp_path / "r.html", segment="flat")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    "where",
    [lambda p: p["comparison"], lambda p: p["comparison"]["models"][0], lambda p: p["segments"]["rows"][0]],
    ids=["comparison", "compared model", "segment row"],
)
def test_schema_refuses_unknown_keys_in_the_new_sections(compared, where):
    data = json.loads(json.dumps(compared[2]))
    where(data)["surprise"] = 1
    with pytest.raises(ValidationError, match="surprise"):
        ValidationPack.model_validate(data)


def test_rounding_states_how_far_whole_points_move_the_pd(tmp_path):
    """Scorecard(points_rounding=0) on a small bundled sample: the report's PD movement is the one
    between the model and the same fitted state with its scoring table rebuilt unrounded."""
    import copy

    from cli_helpers import lending_club_sample
    from lendscore.config import TrainConfig
    from lendscore.model import _points
    from lendscore.model.grades import assign_grades
    from lendscore.reports.from_training import write_training_report

    cfg = TrainConfig.model_validate({"scorecard": {"points_rounding": 0}})
    result = train_scorecard(
        lending_club_sample(4000, seed=1), profile="lending_club_2007_2011", test_from="2011-01-01", config=cfg
    )
    html = write_training_report(result, tmp_path / "report.html")
    r = json.loads(html.with_suffix(".json").read_text(encoding="utf-8"))["rounding"]
    exact = copy.deepcopy(result.model)
    exact.points_rounding = None
    _points.build(exact)
    p_exact = exact.predict_proba(result.X_test)[:, 1]
    p_round = result.model.predict_proba(result.X_test)[:, 1]
    diff = np.abs(p_round - p_exact)
    assert r["decimals"] == 0 and r["sample"] == "test" and r["n"] == len(result.X_test)
    assert r["max_abs_pd_diff"] == pytest.approx(diff.max(), abs=1e-12) and 0 < r["max_abs_pd_diff"] < 0.05
    assert r["median_abs_pd_diff"] == pytest.approx(np.median(diff), abs=1e-12)
    changed = assign_grades(p_round, result.model.grades_) != assign_grades(p_exact, result.model.grades_)
    assert r["n_grade_changed"] == changed.sum() and r["grade_changed_share"] == pytest.approx(changed.mean())
    text = html.read_text(encoding="utf-8")
    assert 'id="rounding"' in text and "whole points" in text and f"{r['n_grade_changed']:,} rows" in text

"""PSI / CSI against hand-worked tables, the zero-bin rule, and drift on a small fitted scorecard."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import lendscore
from lendscore.errors import ConfigError, DataError
from lendscore.monitoring import MonitoringReference, build_reference, drift, psi, psi_flag, reference_from_model
from lendscore.monitoring.drift import bin_codes, input_column, period_labels


# ---------------------------------------------------------------- hand-worked tables
def test_psi_hand_worked_table():
    # bin  expected  actual  e share  a share  (a - e) ln(a / e)
    #  1      10       20      0.1      0.2    0.1 * ln 2    = 0.0693147
    #  2      20       20      0.2      0.2    0
    #  3      30       30      0.3      0.3    0
    #  4      40       30      0.4      0.3    -0.1 * ln 0.75 = 0.0287682
    # PSI = 0.0980829 (stable, just under 0.10)
    # chi-square: (20-10)^2/10 + (30-40)^2/40 = 12.5 on 3 df
    r = psi([10, 20, 30, 40], [20, 20, 30, 30])
    assert r.psi == pytest.approx(0.0980829, abs=1e-7)
    assert r.flag == "stable" and not r.smoothed and r.n == 100
    assert r.chi2 == pytest.approx(12.5)
    assert r.df == 3
    assert r.p_value == pytest.approx(stats.chi2.sf(12.5, 3))
    assert r.p_value == pytest.approx(0.005853, abs=1e-6)


def test_psi_scale_invariant_but_test_is_not():
    small, big = psi([10, 20, 30, 40], [20, 20, 30, 30]), psi([10, 20, 30, 40], [2000, 2000, 3000, 3000])
    assert small.psi == pytest.approx(big.psi)
    assert big.p_value < small.p_value  # the test sees the sample size, PSI does not


def test_zero_bin_rule_add_half_hand_worked():
    # expected [0, 50, 50], actual [10, 45, 45]: bin 1 is empty in training only, so every bin of
    # both samples gets +0.5: e = [0.5, 50.5, 50.5] / 101.5, a = [10.5, 45.5, 45.5] / 101.5
    # PSI = (10/101.5) ln 21 + 2 * (-5/101.5) ln(45.5/50.5) = 0.299953 + 0.010272 = 0.310225
    r = psi([0, 50, 50], [10, 45, 45])
    assert r.smoothed
    assert r.psi == pytest.approx(0.310225, abs=1e-6)
    assert r.flag == "significant"
    # the 10 rows in a bin without training rows are counted, the test uses the other 90 rows
    assert r.n_new_bin == 10 and r.chi2 == pytest.approx(0.0) and r.df == 1


def test_zero_bin_rule_inf_and_both_empty():
    assert math.isinf(psi([0, 50, 50], [10, 45, 45], zero_rule="inf").psi)
    # a bin empty in both samples carries no mass and contributes nothing (no smoothing)
    r = psi([10, 20, 0, 30, 40], [20, 20, 0, 30, 30])
    assert not r.smoothed and r.psi == pytest.approx(0.0980829, abs=1e-7)
    with pytest.raises(ConfigError, match="zero_rule"):
        psi([1, 2], [1, 2], zero_rule="epsilon")
    with pytest.raises(DataError, match="bins"):
        psi([1, 2, 3], [1, 2])


@pytest.mark.parametrize(
    "value, flag",
    [
        (0.0, "stable"),
        (0.0999, "stable"),
        (0.10, "moderate"),
        (0.2499, "moderate"),
        (0.25, "significant"),
        (float("nan"), "n/a"),
    ],
)
def test_flags(value, flag):
    assert psi_flag(value) == flag


def test_identical_distribution_is_zero():
    r = psi([5, 10, 15], [50, 100, 150])
    assert r.psi == pytest.approx(0.0, abs=1e-12) and r.p_value == pytest.approx(1.0)


# ---------------------------------------------------------------- on a fitted model
def make_data(n: int, seed: int, *, shift: float = 0.0):
    rng = np.random.default_rng(seed)
    x1 = rng.normal(shift, 1, n)
    x2 = rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2])
    logit = -2 + 0.9 * x1 + np.where(x2 == "c", 0.8, 0.0)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame({"x1": x1, "x2": x2}), pd.Series(y)


@pytest.fixture(scope="module")
def fitted():
    X, y = make_data(3000, 0)
    model = lendscore.Scorecard(max_rules=0, woe_cv=0).fit(X, y)
    return model, X, y


def decisions_of(model, X, month: str, seed: int = 0):
    det = model.score_details(X)
    out = X.copy()
    out["decision_id"] = [f"{month}-{i}" for i in range(len(X))]
    out["created_at"] = pd.Timestamp(month + "-15", tz="UTC")
    out["pd"], out["score"], out["grade"] = det["pd"].to_numpy(), det["score"].to_numpy(), det["grade"].to_numpy()
    out["outcome"] = "approve"
    return out


def test_bin_codes_matches_bin_index(fitted):
    model, X, _ = fitted
    values = pd.Series(["a", "c", None, "zzz", "b"])
    b = model.binnings_["x2"]
    assert bin_codes(b, values).tolist() == b.bin_index(values).tolist()


def test_drift_stable_then_shifted(fitted):
    model, X, _ = fitted
    ref = build_reference(model, X)
    same, _ = make_data(2000, 1)
    moved, _ = make_data(2000, 2, shift=1.5)
    moved.loc[moved.index[:600], "x1"] = np.nan  # 30 % missing, none in training
    moved.loc[moved.index[600:700], "x2"] = "new"  # unseen category
    frame = pd.concat([decisions_of(model, same, "2024-01"), decisions_of(model, moved, "2024-02")], ignore_index=True)
    d = drift(frame, model, ref, period="M")
    score = d.score.set_index("period")
    assert score.loc["2024-01", "flag"] == "stable" and score.loc["2024-02", "flag"] == "significant"
    assert score.loc["2024-01", "n"] == 2000
    csi = d.characteristics.set_index(["period", "characteristic"])
    if "x1" in model.selected_features_:
        assert csi.loc[("2024-01", "x1"), "psi"] < 0.10
        assert csi.loc[("2024-02", "x1"), "psi"] >= 0.25
        assert csi.loc[("2024-02", "x1"), "p_value"] < 1e-6
    inputs = d.inputs.set_index(["period", "input"])
    assert inputs.loc[("2024-02", "x1"), "missing_rate"] == pytest.approx(0.3)
    assert inputs.loc[("2024-02", "x1"), "train_missing_rate"] == 0.0
    assert inputs.loc[("2024-02", "x2"), "n_out_of_range"] == 100
    assert inputs.loc[("2024-01", "x1"), "n_out_of_range"] >= 0
    bins = d.bins[(d.bins.period == "2024-01") & (d.bins.characteristic == "score")]
    assert bins["expected_share"].sum() == pytest.approx(1.0) and bins["actual_share"].sum() == pytest.approx(1.0)


def test_reference_round_trip_and_fallback(fitted, tmp_path):
    model, X, _ = fitted
    ref = build_reference(model, X)
    assert sum(ref.score_counts) == len(X)
    path = tmp_path / "m.json"
    model.save(path, monitoring_reference=ref.to_dict())
    loaded = lendscore.load(path)
    assert reference_from_model(loaded) == MonitoringReference.from_dict(ref.to_dict())
    fallback = reference_from_model(model)  # no stored reference: bins only, no score reference
    assert fallback.score_edges is None
    assert fallback.characteristics["x2"] == pytest.approx(ref.characteristics["x2"])
    frame = decisions_of(model, X.head(100), "2024-03")
    d = drift(frame, model, fallback)
    assert d.score.empty and any("score PSI not available" in n for n in d.notes)


def test_input_column_collision():
    frame = pd.DataFrame({"grade": ["A"], "input.grade": ["B"], "x": [1]})
    assert input_column(frame, "grade") == "input.grade"
    assert input_column(frame.drop(columns="input.grade"), "grade") is None  # 'grade' is the model's grade
    assert input_column(frame, "x") == "x"


def test_period_labels():
    t = pd.Series(pd.to_datetime(["2024-01-31T23:30:00+00:00", "2024-02-01T00:10:00+01:00"], utc=True))
    assert period_labels(t, "M").tolist() == ["2024-01", "2024-01"]
    assert period_labels(t, "D").tolist() == ["2024-01-31", "2024-01-31"]
    with pytest.raises(ConfigError):
        period_labels(t, "Q")


def test_warnings_by_period_hand_counted():
    from lendscore.monitoring.drift import warnings_by_period

    # rows 0-3 in 2024-01, rows 4-5 in 2024-02; three warnings of x2 in January, one of x1 in February
    pcode = np.array([0, 0, 0, 0, 1, 1])
    w = pd.DataFrame(
        {
            "row": [0, 2, 3, 5],
            "field": ["x2", "x2", "x2", "x1"],
            "rule": ["unseen_category"] * 3 + ["above_training_range"],
            "value": ["z", "z", "y", 9.0],
        }
    )
    t = warnings_by_period(w, pcode, ["2024-01", "2024-02"])
    assert t.to_dict(orient="records") == [
        {"period": "2024-01", "field": "x2", "rule": "unseen_category", "n": 3, "n_rows": 4, "rate": 0.75},
        {"period": "2024-02", "field": "x1", "rule": "above_training_range", "n": 1, "n_rows": 2, "rate": 0.5},
    ]
    assert warnings_by_period(w.iloc[:0], pcode, ["2024-01", "2024-02"]).empty
    with pytest.raises(DataError, match="row 9"):
        warnings_by_period(w.assign(row=[0, 2, 3, 9]), pcode, ["2024-01", "2024-02"])


def test_drift_reads_namespaced_inputs_and_scores_them(fitted):
    """A frame whose inputs are all ``input.<name>`` (as the monitoring reader writes it) and which
    has no score: scored with the model, CSI and warnings from the namespaced inputs."""
    model, X, _ = fitted
    ref = build_reference(model, X)
    Z, _ = make_data(500, 5)
    Z.loc[:24, "x2"] = "new"  # 25 unseen categories
    frame = Z.add_prefix("input.").assign(
        created_at=pd.Timestamp("2024-05-02", tz="UTC"), grade="not an input"
    )  # an output named grade never read as input
    d = drift(frame, model, ref)
    assert any("scores computed with the model" in n for n in d.notes)
    plain = drift(decisions_of(model, Z, "2024-05"), model, ref)
    pd.testing.assert_frame_equal(d.score, plain.score)
    pd.testing.assert_frame_equal(d.characteristics, plain.characteristics)
    assert "x2" in model.selected_features_
    assert d.warnings.to_dict(orient="records") == [
        {"period": "2024-05", "field": "x2", "rule": "unseen_category", "n": 25, "n_rows": 500, "rate": 0.05}
    ]
    from lendscore.monitoring.drift import application_frame

    apps = application_frame(frame, model)
    assert list(apps.columns) == ["x1", "x2"] and apps["x2"].iloc[0] == "new"


def test_drift_reports_even_when_a_value_breaks_its_rule(fitted):
    """drift() on a hand-built frame whose value breaks a declared rule: the stability tables are
    computed, the warnings are not counted, and a note says why (the reader would have refused it)."""
    from lendscore.data.derivation import input_spec_for

    _, X, y = fitted
    model = lendscore.Scorecard(max_rules=0, woe_cv=0).fit(
        X, y, inputs=input_spec_for({"x1": "numeric", "x2": "categorical"}, bounds={"x1": (-10.0, 10.0)}, X=X)
    )
    frame = decisions_of(model, X.head(200), "2024-06")
    frame.loc[3, "x1"] = 50.0
    d = drift(frame, model, build_reference(model, X))
    assert len(d.score) == 1 and d.warnings.empty
    assert any(n.startswith("input warnings not counted: x1 must be in [-10, 10]") for n in d.notes)

"""Realised performance by vintage: maturity, rates, AUC/KS through lendscore.validation, calibration."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lendscore.errors import ConfigError, SchemaError
from lendscore.monitoring import join_outcomes, performance_by_vintage
from lendscore.validation import ks_statistic, roc_auc


def make(seed: int = 0, n_per_month: int = 400, months=("2024-01", "2024-02", "2024-03")):
    rng = np.random.default_rng(seed)
    frames = []
    for m in months:
        p = rng.uniform(0.01, 0.4, n_per_month)
        frames.append(
            pd.DataFrame(
                {
                    "created_at": pd.Timestamp(m + "-10", tz="UTC")
                    + pd.to_timedelta(rng.uniform(0, 15, n_per_month), "D"),
                    "pd": p,
                    "score": 600 - 28.85 * np.log(p / (1 - p) * 50),
                    "grade": np.where(p < 0.1, "A", np.where(p < 0.2, "B", "C")),
                    "outcome": np.where(p < 0.15, "approve", np.where(p < 0.3, "refer", "decline")),
                    "defaulted": (rng.random(n_per_month) < p).astype(int),
                }
            )
        )
    d = pd.concat(frames, ignore_index=True)
    d["decision_id"] = [f"d{i}" for i in range(len(d))]
    outcomes = pd.DataFrame(
        {
            "decision_id": d["decision_id"],
            "defaulted": d.pop("defaulted"),
            "outcome_date": d["created_at"] + pd.Timedelta(days=90),
        }
    )
    return d, outcomes


def test_vintages_and_maturity():
    d, o = make()
    perf = performance_by_vintage(d, o, as_of="2024-07-01", maturity_months=3)
    v = perf.vintages.set_index("vintage")
    assert v.index.tolist() == ["2024-01", "2024-02", "2024-03"]
    # 2024-01 ends on Jan 31 -> matured on Apr 30; 2024-03 ends Mar 31 -> matures Jun 30 (< Jul 1)
    assert v["matured"].tolist() == [True, True, True]
    perf_early = performance_by_vintage(d, o, as_of="2024-05-15", maturity_months=3)
    assert perf_early.vintages["matured"].tolist() == [True, False, False]
    assert np.isnan(perf_early.vintages["auc"].iloc[1])
    # outcomes dated after as_of are not known yet
    assert perf_early.vintages["n_outcome"].iloc[2] < 400
    jan = d["created_at"] < "2024-02-01"
    y = o.loc[jan, "defaulted"].to_numpy()
    assert v.loc["2024-01", "auc"] == pytest.approx(roc_auc(y, d.loc[jan, "pd"]))
    assert v.loc["2024-01", "ks"] == pytest.approx(ks_statistic(y, d.loc[jan, "pd"]).statistic)
    assert v.loc["2024-01", "bad_rate"] == pytest.approx(y.mean())
    assert v.loc["2024-01", "approval_rate"] + v.loc["2024-01", "refer_rate"] + v.loc[
        "2024-01", "decline_rate"
    ] == pytest.approx(1.0)
    appr = jan & (d["outcome"] == "approve")
    assert v.loc["2024-01", "bad_rate_approved"] == pytest.approx(o.loc[appr, "defaulted"].mean())
    assert v.loc["2024-01", "coverage"] == 1.0


def test_calibration_by_grade_is_exact_binomial():
    d, o = make(1)
    perf = performance_by_vintage(d, o, as_of="2025-01-01", maturity_months=3)
    c = perf.calibration
    assert c["group"].astype(str).tolist() == ["A", "B", "C"]
    assert c["n"].sum() == len(d)
    assert (c["binomial_p_value"] > 0.001).all()  # outcomes were drawn from the PDs: calibrated


def test_missing_outcomes_and_no_matured_vintage():
    d, o = make(2)
    perf = performance_by_vintage(d, o.iloc[:0], as_of="2024-04-01", maturity_months=12)
    assert (perf.vintages["n_outcome"] == 0).all() and perf.calibration.empty and perf.notes
    joined = join_outcomes(d, o.iloc[:10])
    assert joined["defaulted"].notna().sum() == 10


def test_errors():
    d, o = make()
    with pytest.raises(ConfigError):
        performance_by_vintage(d, o, maturity_months=-1)
    with pytest.raises(SchemaError, match="grade"):
        performance_by_vintage(d.drop(columns="grade"), o)


def test_scored_applications_without_a_decision_outcome():
    """A `lendscore score` output or a raw file has no approve/refer/decline: the rates are not
    available, the rest of the table is the same."""
    d, o = make(3)
    full = performance_by_vintage(d, o, as_of="2025-01-01", maturity_months=3).vintages
    perf = performance_by_vintage(d.drop(columns="outcome"), o, as_of="2025-01-01", maturity_months=3)
    v = perf.vintages
    assert v[["approval_rate", "refer_rate", "decline_rate", "bad_rate_approved"]].isna().all().all()
    same = ["vintage", "n", "n_outcome", "coverage", "n_event", "bad_rate", "mean_pd", "matured", "auc", "ks"]
    pd.testing.assert_frame_equal(v[same], full[same])
    assert any("no decision outcome column" in n for n in perf.notes)

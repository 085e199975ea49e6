"""Fairness report: hand-checked small frame, and German credit by age band and by sex."""

from __future__ import annotations

import math
from importlib import resources

import numpy as np
import pandas as pd
import pytest

from lendscore.decision.fairness import fairness_report, german_credit_groups
from lendscore.errors import PolicyError

# Ten applicants; approve when score >= 550.
# "<25":  scores 500, 520, 560, 580 -> 2 of 4 approved = 0.5; mean 540, var 4000/3
# ">=25": scores 540, 560, 570, 590, 600, 610 -> 5 of 6 approved; mean 578.33, var 3483.33/5
SMALL = pd.DataFrame(
    {
        "score": [500, 520, 560, 580, 540, 560, 570, 590, 600, 610],
        "y": [1, 1, 0, 0, 1, 0, 1, 0, 0, 0],
        "pd": [0.5, 0.4, 0.2, 0.1, 0.3, 0.2, 0.2, 0.1, 0.05, 0.05],
        "age_band": ["<25"] * 4 + [">=25"] * 6,
    }
)


def test_small_frame_hand_checked() -> None:
    rep = fairness_report(
        SMALL["score"], SMALL["y"], SMALL["age_band"], cutoff=550, pds=SMALL["pd"], attribute="age_band"
    )
    t = rep.by_group
    assert rep.reference == ">=25"  # highest approval rate
    assert t.loc["<25", "approval_rate"] == 0.5
    assert t.loc[">=25", "approval_rate"] == pytest.approx(5 / 6)
    assert t.loc["<25", "air"] == pytest.approx(0.5 / (5 / 6))  # 0.6 < 0.8: flagged
    assert rep.flagged == ["<25"]
    assert t.loc["<25", "default_rate"] == 0.5 and t.loc[">=25", "default_rate"] == pytest.approx(2 / 6)
    pooled = math.sqrt((4000 + 3483.3333333) / 8)  # ((n1-1) s1^2 + (n2-1) s2^2) / (n1 + n2 - 2)
    assert t.loc["<25", "smd"] == pytest.approx((540 - 578.3333333) / pooled)  # -1.253
    assert t.loc[">=25", "smd"] == 0.0
    assert t.loc["<25", "mean_pd"] == pytest.approx(0.3)
    assert t.loc["<25", "calibration_gap"] == pytest.approx(0.3 - 0.5)
    assert rep.calibration is not None and set(rep.calibration["group"]) == {"<25", ">=25"}
    assert rep.calibration["n"].sum() == 10


def test_explicit_reference_and_bad_input() -> None:
    rep = fairness_report(SMALL["score"], SMALL["y"], SMALL["age_band"], cutoff=550, reference="<25")
    assert rep.by_group.loc[">=25", "air"] == pytest.approx((5 / 6) / 0.5)
    assert rep.calibration is None
    with pytest.raises(PolicyError, match="reference group"):
        fairness_report(SMALL["score"], SMALL["y"], SMALL["age_band"], cutoff=550, reference="old")
    with pytest.raises(PolicyError, match="y must be"):
        fairness_report(SMALL["score"], SMALL["y"] + 1, SMALL["age_band"], cutoff=550)


def _german() -> pd.DataFrame:
    path = resources.files("lendscore.data").joinpath("_files/german_credit.csv.gz")
    if path.is_file():
        with resources.as_file(path) as p:
            return pd.read_csv(p)
    # No bundled copy: a small frame in the German codes (hand-made, not real data).
    rng = np.random.default_rng(0)
    n = 200
    return pd.DataFrame(
        {
            "age_years": rng.integers(19, 70, n),
            "personal_status_and_sex": rng.choice(["A91", "A92", "A93", "A94"], n),
            "duration_months": rng.integers(6, 60, n),
            "credit_amount": rng.integers(500, 15000, n),
            "installment_rate_pct_of_disposable_income": rng.integers(1, 5, n),
            "credit_risk": rng.choice([1, 2], n, p=[0.7, 0.3]),
        }
    )


def test_german_credit_by_age_band_and_sex() -> None:
    from sklearn.linear_model import LogisticRegression

    g = _german()
    groups = german_credit_groups(g)
    # The score never sees age or sex: a logistic model on three financial columns only.
    cols = ["duration_months", "credit_amount", "installment_rate_pct_of_disposable_income"]
    x = np.log1p(g[cols].to_numpy(dtype=float))
    y = (g["credit_risk"] == 2).astype(int).to_numpy()
    pd_hat = LogisticRegression().fit(x, y).predict_proba(x)[:, 1]
    score = 600 - 20 / math.log(2) * (np.log(pd_hat / (1 - pd_hat)) + math.log(50))
    cutoff = float(np.quantile(score, 0.3))  # approve about 70%
    for attribute in ("age_band", "sex"):
        rep = fairness_report(score, y, groups[attribute], cutoff=cutoff, pds=pd_hat, attribute=attribute)
        t = rep.by_group
        approved = pd.Series(score >= cutoff).groupby(groups[attribute].to_numpy()).mean()
        assert t["approval_rate"].to_dict() == pytest.approx(approved.to_dict())
        assert t["air"].to_dict() == pytest.approx((approved / approved.max()).to_dict())
        assert t["n"].sum() == len(g)
        assert rep.flagged == [k for k, v in (approved / approved.max()).items() if v < 0.8]
    assert set(groups["age_band"]) <= {"<25", ">=25"}
    assert set(groups["sex"]) <= {"male", "female"}


def test_german_groups_refuse_unknown_codes() -> None:
    with pytest.raises(PolicyError, match="A99"):
        german_credit_groups(pd.DataFrame({"age_years": [30], "personal_status_and_sex": ["A99"]}))

"""decide(): stage order, knock-outs, affordability, bands, reasons; monotone in score."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lendscore.decision import Outcome, ScoredApplicant, decide, load_catalogue, load_policy, parse_policy
from lendscore.errors import PolicyError

CAT = load_catalogue()
POLICY = load_policy()  # bands: decline < 530 <= refer < 555 <= approve
MAX = {"revol_util": 40.0, "dti": 30.0, "inq_last_6mths": 25.0, "annual_inc": 35.0, "emp_length": 10.0}
FINANCES = {"gross_income": 5000.0, "existing_obligations": 500.0}
LOAN = {"amount": 10_000.0, "annual_rate": 0.12, "term_months": 36}


def scored(score: float, points: dict[str, float] | None = None) -> ScoredApplicant:
    pts = (
        points
        if points is not None
        else {"revol_util": 10.0, "dti": 5.0, "inq_last_6mths": 20.0, "annual_inc": 30.0, "emp_length": 2.0}
    )
    return ScoredApplicant(pd=0.1, score=score, grade="C", points=pts, model_version="fake-1", max_points=MAX)


def applicant(**extra: object) -> dict:
    return {"age": 30, "pub_rec": 0, "pub_rec_bankruptcies": 0, "finances": FINANCES, "loan": LOAN, **extra}


def test_approve_has_no_reasons_and_keeps_numbers() -> None:
    d = decide(applicant(), scored(600), POLICY, CAT)
    assert d.outcome is Outcome.APPROVE
    assert d.reasons == ()
    assert d.affordability is not None and d.affordability.passed
    assert (d.policy_version, d.model_version, d.score, d.grade) == (POLICY.version, "fake-1", 600.0, "C")
    json.dumps(d.to_dict())  # JSON-ready


def test_decline_band_gives_four_principal_reasons() -> None:
    d = decide(applicant(), scored(500), POLICY, CAT)
    assert d.outcome is Outcome.DECLINE
    assert [r.code for r in d.reasons] == ["S03", "S08", "S12", "S07"]  # shortfalls 30, 25, 8, 5


def test_refer_band_gives_review_code_first() -> None:
    d = decide(applicant(), scored(540), POLICY, CAT)
    assert d.outcome is Outcome.REFER
    assert [r.code for r in d.reasons] == ["P20", "S03", "S08", "S12"]


def test_affordability_failure_declines_with_policy_code() -> None:
    poor = applicant(finances={"gross_income": 2000.0, "existing_obligations": 700.0})
    d = decide(poor, scored(700), POLICY, CAT)
    assert d.outcome is Outcome.DECLINE
    assert d.reasons[0].code == "P10"  # NTH share below 40%
    assert d.affordability is not None and "nth_share" in d.affordability.failed_rules
    assert ("bands", "approve") not in d.steps  # stopped at the first decline


def test_missing_finances_refer_and_impossible_finances_raise() -> None:
    a = applicant()
    del a["finances"]
    d = decide(a, scored(700), POLICY, CAT)
    assert d.outcome is Outcome.REFER and [r.code for r in d.reasons] == ["P13"]
    with pytest.raises(PolicyError, match="term_months"):
        decide(applicant(loan={**LOAN, "term_months": 0}), scored(700), POLICY, CAT)


def test_knockouts_apply_in_order() -> None:
    both = applicant(age=17, pub_rec_bankruptcies=1)
    d = decide(both, scored(700), POLICY, CAT)
    assert d.outcome is Outcome.DECLINE
    assert [r.code for r in d.reasons] == ["P01"]  # under_age listed first; stop at first decline
    assert d.steps[0] == ("knockout:under_age", "decline")
    swapped = POLICY.model_copy(update={"knockouts": POLICY.knockouts[1::-1] + POLICY.knockouts[2:]})
    assert [r.code for r in decide(both, scored(700), swapped, CAT).reasons] == ["P02"]
    no_stop = POLICY.model_copy(update={"stop_on_decline": False})
    assert [r.code for r in decide(both, scored(700), no_stop, CAT).reasons] == ["P01", "P02"]


def test_refer_knockout_then_decline_band() -> None:
    d = decide(applicant(pub_rec=2), scored(500), POLICY, CAT)
    assert d.outcome is Outcome.DECLINE
    assert [r.code for r in d.reasons][:2] == ["P03", "S03"]


def test_stage_order_is_configurable() -> None:
    text = """version = "o"\norder = ["bands", "knockouts"]\n[[bands]]\noutcome = "refer"\nmin = 0\nmax = 500
reason = "P20"\n[[bands]]\noutcome = "approve"\nmin = 500\nmax = 1000
[[knockouts]]\nname = "record"\nwhen = [{ field = "pub_rec", op = ">=", value = 1 }]\noutcome = "refer"
reason = "P03"\nif_missing = "pass"\n"""
    d = decide({"pub_rec": 1}, scored(400), parse_policy(text), CAT)
    assert [s for s, _ in d.steps] == ["bands", "knockout:record"]
    assert [r.code for r in d.reasons][:2] == ["P20", "S03"] and d.reasons[-1].code != "P03"  # capped at 4
    assert d.affordability is None


def test_missing_knockout_field_follows_if_missing() -> None:
    text = """version = "m"\n[[bands]]\noutcome = "approve"\nmin = 0\nmax = 1000
[[knockouts]]\nname = "age"\nwhen = [{ field = "age", op = "<", value = 18 }]\nreason = "P01"\n"""
    d = decide({}, scored(700), parse_policy(text), CAT)  # if_missing defaults to "refer"
    assert d.outcome is Outcome.REFER and [r.code for r in d.reasons] == ["P20"]
    with pytest.raises(PolicyError, match="cannot be compared"):
        decide({"age": "old"}, scored(700), parse_policy(text), CAT)


@settings(max_examples=80, deadline=None)
@given(
    s1=st.floats(300, 800),
    s2=st.floats(300, 800),
    age=st.integers(16, 80),
    pub_rec=st.integers(0, 2),
    income=st.floats(800, 20_000),
    obligations=st.floats(0, 5000),
)
def test_decision_monotone_in_score(
    s1: float, s2: float, age: int, pub_rec: int, income: float, obligations: float
) -> None:
    lo, hi = sorted((s1, s2))
    a = applicant(age=age, pub_rec=pub_rec, finances={"gross_income": income, "existing_obligations": obligations})
    d_lo, d_hi = decide(a, scored(lo), POLICY, CAT), decide(a, scored(hi), POLICY, CAT)
    assert d_hi.outcome.rank <= d_lo.outcome.rank
    for d in (d_lo, d_hi):
        assert (d.outcome is Outcome.APPROVE) == (d.reasons == ())
        assert len(d.reasons) <= 4


@pytest.mark.slow
def test_real_scorecard_on_bundled_lending_club(tmp_path) -> None:
    """End to end: lendscore.Scorecard on bundled Lending Club rows -> score_details -> decide."""
    from importlib import resources

    import pandas as pd

    import lendscore
    from lendscore.decision import scored_from_details

    src = resources.files("lendscore.data").joinpath("_files/lending_club_2007_2011_application.csv.gz")
    with resources.as_file(src) as path:
        df = pd.read_csv(path, nrows=6000)
    df = df[df["loan_status"].isin(["Fully Paid", "Charged Off"])]
    cols = ["annual_inc", "dti", "revol_util", "inq_last_6mths", "pub_rec", "purpose", "term"]
    y = (df["loan_status"] == "Charged Off").astype(int)
    model = lendscore.Scorecard().fit(df[cols], y)
    model.save(tmp_path / "m.json")
    model = lendscore.load(tmp_path / "m.json")
    head = df.head(40)
    details = model.score_details(head[cols])
    scored_rows = scored_from_details(details, model_version="it", max_points=model.max_points_)
    outcomes = []
    for (_, row), s in zip(head.iterrows(), scored_rows, strict=True):
        gross = row["annual_inc"] / 12
        a = {
            **row[cols].to_dict(),
            "pub_rec_bankruptcies": 0,
            "loan_amnt": 10_000,
            "finances": {"gross_income": gross, "existing_obligations": row["dti"] / 100 * gross},
            "loan": {"amount": 10_000.0, "annual_rate": 0.12, "term_months": int(row["term"])},
        }
        d = decide(a, s, POLICY, CAT)
        assert (d.outcome is Outcome.APPROVE) == (d.reasons == ())
        assert all(r.code in CAT for r in d.reasons)
        json.dumps(d.to_dict())
        outcomes.append(d.outcome)
    scores = details["score"].to_numpy()
    assert len(set(outcomes)) >= 2 and scores.std() > 0

"""decide_batch() gives exactly decide().to_dict() for every row, float for float, on varied rows."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from lendscore.decision import Policy, ScoredApplicant, decide, load_catalogue, load_policy
from lendscore.decision.batch import decide_batch
from lendscore.errors import PolicyError

CAT = load_catalogue()
POLICY = load_policy()  # bands: decline < 530 <= refer < 555 <= approve
CHARS = ["revol_util", "dti", "inq_last_6mths", "annual_inc", "emp_length", "grade", "term", "purpose"]
MAX = {c: float(m) for c, m in zip(CHARS, [40, 30, 25, 35, 10, 50, 20, 15], strict=True)}


def _policy(**update) -> Policy:
    """The default policy with some settings changed (validated again, so nothing cached is reused)."""
    data = POLICY.model_dump()
    for key in ("affordability", "reasons"):
        data[key] = {**data[key], **update.pop(key, {})}
    return Policy.model_validate({**data, **update})


def _knockouts(**if_missing) -> list[dict]:
    return [{**ko.model_dump(), "if_missing": if_missing.get(ko.name, ko.if_missing)} for ko in POLICY.knockouts]


_EXTRA_KO = {
    "name": "low_income_grade",
    "outcome": "refer",
    "reason": "P03",
    "if_missing": "decline",
    "when": [
        {"field": "finances.gross_income", "op": "<", "value": 1500},
        {"field": "home_ownership", "op": "in", "value": ["RENT", "OTHER"]},
    ],
}

POLICIES = {
    "default": POLICY,
    "no_stop": _policy(stop_on_decline=False),
    "bands_first": _policy(order=["bands", "affordability", "knockouts"]),
    "aff_first_no_stop": _policy(order=["affordability", "knockouts", "bands"], stop_on_decline=False),
    "no_affordability_stage": _policy(order=["knockouts", "bands"]),
    "missing_refers": _policy(knockouts=_knockouts(under_age="refer", bankruptcy="decline") + [_EXTRA_KO]),
    "missing_declines": _policy(
        knockouts=_knockouts(public_record="decline"),
        affordability={"if_missing": "decline", "outcome_on_fail": "refer"},
    ),
    "missing_passes": _policy(affordability={"if_missing": "pass"}),
    "undertaking_net_foir": _policy(
        affordability={"min_nth_share_with_undertaking": 0.25, "foir_base": "net", "amount_step": 1.0, "min_nth": 0.0}
    ),
    "only_floor": _policy(
        affordability={
            "min_nth_share": None,
            "max_foir": None,
            "deduction_rate": 0.0,
            "min_nth_share_with_undertaking": 0.3,
        }
    ),
    "two_reasons_cutoff": _policy(
        reasons={"max_reasons": 2, "reference": "cutoff_average", "cutoff_points": {c: v * 0.6 for c, v in MAX.items()}}
    ),
    "pd_basis": _policy(
        basis="pd",
        bands=[
            {"outcome": "approve", "min": 0.0, "max": 0.08},
            {"outcome": "refer", "min": 0.08, "max": 0.2, "reason": "P20"},
            {"outcome": "decline", "min": 0.2, "max": 1.0},
        ],
    ),
}


def _finances(rng: np.random.Generator) -> dict | None:
    kind = rng.integers(0, 12)
    if kind == 0:
        return None
    income = float(rng.choice([rng.uniform(300, 20_000), 1000, 5000, 2500.5, 1e9]))
    if kind == 1:
        income = int(rng.integers(500, 9000))  # an int where a float is expected
    fin: dict = {"gross_income": income}
    if rng.random() < 0.3:
        fin["net_income"] = round(income * float(rng.uniform(0.5, 1.0)), 2)
    elif rng.random() < 0.3:
        fin["deductions"] = round(income * float(rng.uniform(0, 0.4)), 2)
    if rng.random() < 0.8:
        fin["existing_obligations"] = float(rng.choice([0.0, round(income * float(rng.uniform(0, 0.9)), 2), 200]))
    if rng.random() < 0.5:
        fin["dependants"] = int(rng.integers(0, 6))
    if rng.random() < 0.3:
        fin["employer_undertaking"] = bool(rng.random() < 0.5)
    return fin


def _loan(rng: np.random.Generator) -> dict | None:
    if rng.random() < 0.06:
        return None
    rate = float(rng.choice([0.0, 0.12, 0.0799, float(rng.uniform(0, 0.4)), 1.0, 1e-9]))
    term = int(rng.choice([1, 12, 36, 60, int(rng.integers(1, 601)), 600]))
    amount = float(rng.choice([round(float(rng.uniform(500, 40_000)), 2), 100.0, 1e6, 0.01, 25_000]))
    return {"amount": amount, "annual_rate": rate, "term_months": term}


def _points(rng: np.random.Generator) -> dict[str, float]:
    pts = {c: float(rng.choice([m, m - 5, 0.0, round(float(rng.uniform(-5, m)), 3)])) for c, m in MAX.items()}
    if rng.random() < 0.2:  # exact ties in shortfall, broken by name
        pts["dti"], pts["revol_util"] = MAX["dti"] - 7, MAX["revol_util"] - 7
    if rng.random() < 0.1:  # shortfalls within rounding of each other
        pts["annual_inc"], pts["emp_length"] = MAX["annual_inc"] - 9.0, MAX["emp_length"] - 9.0 - 1e-11
    return pts


def _row(rng: np.random.Generator) -> tuple[dict, ScoredApplicant]:
    a: dict = {}
    for field, choices in (
        ("age", [17, 18, 30, None, float("nan"), 65]),
        ("pub_rec_bankruptcies", [0, 0, 0, 1, None]),
        ("pub_rec", [0, 0, 1, 2, None]),
        ("verification_status", ["Verified", "Not Verified", "Source Verified", None]),
        ("loan_amnt", [5000.0, 30000.0, 25000.0, None]),
        ("home_ownership", ["RENT", "OWN", "MORTGAGE", "OTHER", None]),
    ):
        if rng.random() < 0.85:
            a[field] = choices[rng.integers(0, len(choices))]
    fin, loan = _finances(rng), _loan(rng)
    if fin is not None or rng.random() < 0.5:
        a["finances"] = fin
    if loan is not None or rng.random() < 0.5:
        a["loan"] = loan
    score = float(rng.choice([530.0, 555.0, 529.999, float(rng.uniform(450, 650)), float(rng.normal(550, 40))]))
    pd_ = float(rng.choice([0.08, 0.2, 0.0, 1.0, float(rng.uniform(0, 0.4))]))
    return a, ScoredApplicant(
        pd=pd_,
        score=score,
        grade=str(rng.choice(["A", "B", "C"])),
        points=_points(rng),
        model_version="fake-1",
        max_points=MAX,
    )


ROWS = [_row(np.random.default_rng(seed)) for seed in range(3000)]


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_batch_equals_decide_row_by_row(name):
    policy = POLICIES[name]
    applicants, scored = [r[0] for r in ROWS], [r[1] for r in ROWS]
    ref = [decide(a, s, policy, CAT).to_dict() for a, s in zip(applicants, scored, strict=True)]
    got = decide_batch(applicants, scored, policy, CAT)
    assert len(got) == len(ref)
    for i, (g, r) in enumerate(zip(got, ref, strict=True)):
        assert json.dumps(g) == json.dumps(r), f"row {i}"  # same keys, order, types and float bits
    outcomes = {r["outcome"] for r in ref}
    steps = {s["stage"] for r in ref for s in r["steps"]}
    assert outcomes == {"approve", "refer", "decline"}
    if "affordability" in policy.order:
        failed = {f for r in ref if r["affordability"] for f in r["affordability"]["failed_rules"]}
        assert failed >= {"floor"} and any(r["affordability"] is None for r in ref)
        assert any(r["affordability"] and r["affordability"]["counter_offer"]["min_term"] is None for r in ref)
    assert any(s.startswith("knockout:") for s in steps)


def test_rows_the_fast_path_does_not_take_match_too():
    rows = [
        (
            {
                "age": "thirty",
                "finances": {"gross_income": 4000.0},
                "loan": {"amount": 1e4, "annual_rate": 0.1, "term_months": 36},
            },
            1,
        ),
        (
            {
                "finances": {"gross_income": 4000.0, "dependants": True},
                "loan": {"amount": 1e4, "annual_rate": 0.1, "term_months": 36.0},
            },
            2,
        ),
        ({"finances": {"gross_income": "4000"}, "loan": {"amount": 1e4, "annual_rate": 0.1, "term_months": 36}}, 3),
        ({"finances": {"gross_income": 1e12}, "loan": {"amount": 1e12, "annual_rate": 0.0, "term_months": 1}}, 4),
        (
            {
                "finances": {"gross_income": 900.0, "existing_obligations": 0.0},
                "loan": {"amount": 3e5, "annual_rate": 1.0, "term_months": 600},
            },
            5,
        ),
        ({"finances": {"gross_income": 5000.0}, "loan": {"amount": 1e4, "annual_rate": 5e-324, "term_months": 600}}, 6),
        ({"age": np.float64("nan"), "pub_rec": np.int64(1)}, 7),
    ]
    applicants = [r[0] for r in rows]
    scored = [ROWS[r[1]][1] for r in rows]
    scored[1] = ScoredApplicant(
        pd=0.1, score=np.float64(540.0), grade=None, points={}, model_version="m", max_points=MAX
    )
    for policy in (POLICY, POLICIES["no_stop"]):
        want = []
        for a, s in zip(applicants, scored, strict=True):
            try:
                want.append(json.dumps(decide(a, s, policy, CAT).to_dict()))
            except PolicyError:
                want.append("error")
        ok = [i for i, w in enumerate(want) if w != "error"]
        got = decide_batch([applicants[i] for i in ok], [scored[i] for i in ok], policy, CAT)
        assert [json.dumps(g) for g in got] == [want[i] for i in ok]


def test_the_first_refused_row_raises_what_decide_raises():
    applicants, scored = [r[0] for r in ROWS[:50]], [r[1] for r in ROWS[:50]]
    applicants[7] = {
        **applicants[7],
        "finances": {"gross_income": -1.0},
        "loan": {"amount": 1e4, "annual_rate": 0.1, "term_months": 36},
    }
    applicants[3] = {
        **applicants[3],
        "age": 30,
        "pub_rec_bankruptcies": 0,
        "pub_rec": 0,
        "finances": {"gross_income": 5000.0},
        "loan": {"amount": 1e4, "annual_rate": 0.1, "term_months": 0},
    }
    with pytest.raises(PolicyError) as want:
        decide(applicants[3], scored[3], POLICY, CAT)
    with pytest.raises(PolicyError) as got:
        decide_batch(applicants, scored, POLICY, CAT)
    assert str(got.value) == str(want.value) and "term_months" in str(got.value)
    outside = POLICIES["pd_basis"]
    bad = [
        ScoredApplicant(pd=p, score=500.0, grade=None, points={}, model_version="m", max_points=MAX)
        for p in (0.1, math.nan, 1.5)
    ]
    with pytest.raises(PolicyError, match="NaN"):
        decide_batch([{}, {}, {}], bad, outside, CAT)


def test_empty_and_mismatched_batches():
    assert decide_batch([], [], POLICY, CAT) == []
    with pytest.raises(ValueError, match="same length"):
        decide_batch([{}], [], POLICY, CAT)

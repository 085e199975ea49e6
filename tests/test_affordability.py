"""Affordability (NTH): hand-worked instalments and NTH, counter-offers, bad input, properties."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lendscore.decision.affordability import (
    AffordabilityRule,
    assess_affordability,
    instalment,
    max_principal,
)
from lendscore.errors import PolicyError

RULE = {"min_nth_share": 0.40, "max_foir": 0.50, "min_nth": 500.0, "deduction_rate": 0.20}
FIN = {"gross_income": 5000.0, "existing_obligations": 1000.0}
LOAN = {"amount": 30000.0, "annual_rate": 0.12, "term_months": 24}


@pytest.mark.parametrize(
    ("amount", "rate", "term", "expected"),
    [
        # r = 1% a month: 100000 * 0.01 / (1 - 1.01**-12) = 1000 / 0.1125508 = 8884.88
        (100_000, 0.12, 12, 8884.8788678),
        # 30000 * 0.01 / (1 - 1.01**-24) = 300 / 0.2124339 = 1412.20
        (30_000, 0.12, 24, 1412.2041667),
        (12_000, 0.0, 12, 1000.0),  # zero rate: amount / term
        (1_000, 0.06, 1, 1005.0),  # one month: principal plus one month's interest
    ],
)
def test_instalment_hand_worked(amount: float, rate: float, term: int, expected: float) -> None:
    assert instalment(amount, rate, term) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("rate", [0.0, 0.05, 0.3])
def test_max_principal_inverts_instalment(rate: float) -> None:
    assert max_principal(instalment(25_000, rate, 48), rate, 48) == pytest.approx(25_000)


def test_nth_hand_worked() -> None:
    r = assess_affordability(FIN, LOAN, RULE)
    assert r.income == 5000.0
    assert r.deductions == 1000.0  # 20% flat rate
    assert r.net_income == 4000.0
    assert r.new_instalment == pytest.approx(1412.2041667)
    assert r.nth == pytest.approx(4000 - 1000 - 1412.2041667)  # 1587.80
    assert r.nth_share == pytest.approx(1587.7958333 / 5000)  # 0.3176 < 0.40
    assert r.foir == pytest.approx(2412.2041667 / 5000)  # 0.4824 <= 0.50
    assert r.floor == 500.0
    assert not r.passed
    assert r.failed_rules == ("nth_share",)
    assert r.margin == pytest.approx(1587.7958333 - 2000.0)  # short by 412.20 a month


def test_net_income_and_per_applicant_deductions_override_rate() -> None:
    r = assess_affordability({**FIN, "net_income": 3500.0}, LOAN, RULE)
    assert (r.deductions, r.net_income) == (1500.0, 3500.0)
    r = assess_affordability({**FIN, "deductions": 600.0}, LOAN, RULE)
    assert (r.deductions, r.net_income) == (600.0, 4400.0)


def test_employer_undertaking_lowers_share_and_dependants_raise_floor() -> None:
    rule = {**RULE, "min_nth_share_with_undertaking": 0.30}
    with_u = assess_affordability({**FIN, "employer_undertaking": True}, LOAN, rule)
    assert with_u.passed  # 0.3176 >= 0.30
    r = assess_affordability(
        {**FIN, "dependants": 3}, {**LOAN, "amount": 5000}, {**RULE, "min_nth_per_dependant": 150.0}
    )
    assert r.floor == 500 + 3 * 150


def test_foir_rule_can_bind() -> None:
    r = assess_affordability(FIN, LOAN, {"max_foir": 0.45})
    assert r.failed_rules == ("foir",)
    assert r.margin == pytest.approx(0.45 * 5000 - 2412.2041667)


def _passes(fin: dict, loan: dict, rule: dict) -> bool:
    return assess_affordability(fin, loan, rule).passed


@pytest.mark.parametrize("rate", [0.0, 0.12, 0.35])
def test_counter_offer_is_tight(rate: float) -> None:
    loan = {**LOAN, "annual_rate": rate}
    rule = {**RULE, "amount_step": 100.0}
    offer = assess_affordability(FIN, loan, rule).counter_offer
    assert offer.max_amount > 0
    assert _passes(FIN, {**loan, "amount": offer.max_amount}, rule)
    assert not _passes(FIN, {**loan, "amount": offer.max_amount + 100.0}, rule)
    assert offer.min_term is not None
    assert _passes(FIN, {**loan, "term_months": offer.min_term}, rule)
    assert not _passes(FIN, {**loan, "term_months": offer.min_term - 1}, rule)


def test_obligations_above_income_fail_without_crashing() -> None:
    r = assess_affordability({"gross_income": 2000.0, "existing_obligations": 2500.0}, LOAN, RULE)
    assert not r.passed
    assert set(r.failed_rules) == {"nth_share", "foir", "floor"}
    assert r.counter_offer.max_amount == 0.0
    assert r.counter_offer.min_term is None


@pytest.mark.parametrize(
    ("fin", "loan", "words"),
    [
        ({"gross_income": -100.0}, LOAN, ["gross_income", "greater than 0", "-100"]),
        (FIN, {**LOAN, "term_months": 0}, ["term_months", "greater than or equal to 1", "0"]),
        (FIN, {**LOAN, "annual_rate": 3.0}, ["annual_rate", "less than or equal to 1", "3.0"]),
        (FIN, {**LOAN, "amount": -5.0}, ["amount", "greater than 0"]),
        ({**FIN, "net_income": 9000.0}, LOAN, ["net_income", "gross_income", "9000"]),
        ({**FIN, "salary": 1.0}, LOAN, ["salary", "Extra inputs"]),
        ({**FIN, "existing_obligations": math.nan}, LOAN, ["existing_obligations", "finite"]),
    ],
)
def test_impossible_requests_name_field_rule_and_value(fin: dict, loan: dict, words: list[str]) -> None:
    with pytest.raises(PolicyError) as info:
        assess_affordability(fin, loan, RULE)
    for word in words:
        assert word in str(info.value)


def test_rule_is_strict() -> None:
    with pytest.raises(PolicyError, match="max_foir"):
        assess_affordability(FIN, LOAN, {"max_foir": 1.5})
    assert AffordabilityRule(**RULE).min_nth_share == 0.40


money = st.floats(min_value=100.0, max_value=200_000.0, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(
    small=money,
    extra=st.floats(min_value=0.01, max_value=100_000.0),
    rate=st.floats(min_value=0.0, max_value=0.6),
    term=st.integers(1, 360),
    income=st.floats(min_value=500.0, max_value=50_000.0),
    obligations=st.floats(0.0, 20_000.0),
)
def test_larger_amount_never_passes_when_smaller_fails(
    small: float, extra: float, rate: float, term: int, income: float, obligations: float
) -> None:
    fin = {"gross_income": income, "existing_obligations": obligations}
    small_ok = _passes(fin, {"amount": small, "annual_rate": rate, "term_months": term}, RULE)
    large_ok = _passes(fin, {"amount": small + extra, "annual_rate": rate, "term_months": term}, RULE)
    assert small_ok or not large_ok


@settings(max_examples=60, deadline=None)
@given(amount=money, rate=st.floats(min_value=1e-4, max_value=1.0), term=st.integers(1, 599))
def test_longer_term_never_raises_instalment(amount: float, rate: float, term: int) -> None:
    assert instalment(amount, rate, term + 1) <= instalment(amount, rate, term) * (1 + 1e-12)


@settings(max_examples=60, deadline=None)
@given(amount=money, rate=st.floats(min_value=1e-4, max_value=1.0), term=st.integers(1, 599))
def test_longer_term_never_lowers_total_repaid(amount: float, rate: float, term: int) -> None:
    # The brief's "a longer term never lowers the instalment" is read as: it never lowers the total
    # repaid (interest) at positive rates; the instalment itself falls (test above).
    total = lambda n: instalment(amount, rate, n) * n
    assert total(term + 1) >= total(term) * (1 - 1e-12)


def test_batch_affordability_is_the_twin_of_the_scalar_check():
    """``_affordability_batch.assess_batch`` (numpy, the batch decisions' mirror) gives the scalar
    :func:`assess_affordability` dict to the bit on many generated requests under several rules, and
    hands back (None) exactly the rows only the scalar path can judge."""
    import numpy as np

    from lendscore.decision._affordability_batch import assess_batch

    rng = np.random.default_rng(20261201)
    n = 3000
    fins, loans = [], []
    for _ in range(n):
        g = float(rng.choice([rng.uniform(300, 30_000), 1e-3, 5e11]))
        f = {
            "gross_income": g,
            "existing_obligations": float(rng.uniform(0, 0.8) * g),
            "dependants": int(rng.integers(0, 6)),
            "employer_undertaking": bool(rng.integers(0, 2)),
        }
        pick = rng.integers(4)
        if pick == 1:
            f["net_income"] = float(g * rng.uniform(0.4, 1.05))  # sometimes above gross: refused
        elif pick == 2:
            f["deductions"] = float(g * rng.uniform(0, 0.5))
        fins.append(f)
        loans.append(
            {
                "amount": float(rng.uniform(100, 80_000)),
                "annual_rate": float(rng.choice([0.0, 1e-9, rng.uniform(0, 0.45)])),
                "term_months": int(rng.integers(1, 361)),
            }
        )
    rules = [
        AffordabilityRule(),
        AffordabilityRule(
            min_nth_share=0.4, max_foir=0.5, min_nth=500, min_nth_per_dependant=150, deduction_rate=0.2, amount_step=100
        ),
        AffordabilityRule(
            min_nth_share=0.3, min_nth_share_with_undertaking=0.2, foir_base="net", max_foir=0.6, amount_step=50
        ),
    ]
    compared = 0
    for rule in rules:
        fast = assess_batch(fins, loans, rule)
        for f, loan, got in zip(fins, loans, fast, strict=True):
            try:
                want = assess_affordability(f, loan, rule).to_dict()
            except PolicyError:
                assert got is None
                continue
            if got is not None:
                assert got == want
                compared += 1
    assert compared > 0.9 * len(rules) * n * 0.7

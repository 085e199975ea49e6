"""Derived features: EMI against hand-worked figures and the written-out annuity formula."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lendscore.data import (
    credit_age_months,
    emi,
    load_bundled,
    net_take_home,
    nth_share_of_income,
)
from lendscore.data.derivation import InputSpec, derive_frame, derive_one
from lendscore.data.profiles import LENDING_CLUB_DERIVATION
from lendscore.errors import DataError

LC = InputSpec(derivation=LENDING_CLUB_DERIVATION)


# Hand-worked: 10,000 at 12 % over 12 months: r = 0.01, 1.01**12 = 1.1268250,
# emi = 10000 * 0.01 * 1.1268250 / 0.1268250 = 888.49. 100,000 at 6 % over 30 years = 599.55.
# 20,000 at 11.22 % over 36 months is Lending Club's own instalment for its first loan (656.86).
@pytest.mark.parametrize(
    ("principal", "annual_rate", "term", "expected"),
    [
        (10_000, 0.12, 12, 888.49),
        (100_000, 0.06, 360, 599.55),
        (20_000, 0.1122, 36, 656.86),
        (1_200, 0.0, 12, 100.00),
        (5_000, 0.0, 60, 83.33),
    ],
)
def test_emi_hand_worked(principal, annual_rate, term, expected):
    assert emi(principal, annual_rate, term) == pytest.approx(expected, abs=0.005)


def _pmt(rate, nper, pv):
    """numpy_financial.pmt(rate, nper, pv) with fv=0, when='end', written out (sign flipped)."""
    temp = (1 + rate) ** nper
    fact = np.where(rate == 0, nper, (1 + rate * 0) / np.where(rate == 0, 1, rate) * (temp - 1))
    return (pv * temp) / fact


def test_emi_matches_pmt_formula_vectorised():
    rng = np.random.default_rng(7)
    p = rng.uniform(500, 40_000, 200)
    r = rng.choice([0.0, 0.05, 0.1122, 0.2489], 200)
    n = rng.choice([12, 36, 60], 200)
    np.testing.assert_allclose(emi(p, r, n), _pmt(r / 12, n, p), rtol=1e-12)


@pytest.mark.parametrize(("principal", "annual_rate", "term"), [(10_000, 0.12, 12), (7_500, 0.1059, 36)])
def test_emi_amortises_to_zero(principal, annual_rate, term):
    payment = emi(principal, annual_rate, term)
    balance = float(principal)
    for _ in range(term):
        balance = balance * (1 + annual_rate / 12) - payment
    assert balance == pytest.approx(0.0, abs=1e-6)


def test_emi_series_keeps_index_and_nan():
    s = pd.Series([1_200.0, np.nan], index=[10, 11])
    out = emi(s, pd.Series([0.0, 0.1], index=[10, 11]), pd.Series([12, 12], index=[10, 11]))
    assert list(out.index) == [10, 11]
    assert out.iloc[0] == pytest.approx(100.0)
    assert np.isnan(out.iloc[1])


@pytest.mark.parametrize(
    ("args", "column"),
    [((1000, 0.1, 0), "term_months"), ((1000, -0.1, 12), "annual_rate"), ((-5, 0.1, 12), "principal")],
)
def test_emi_refuses_impossible_inputs(args, column):
    with pytest.raises(DataError, match=column):
        emi(*args)


def test_emi_reproduces_lending_club_instalments():
    lc = load_bundled("lending_club")
    diff = (emi(lc["loan_amnt"], lc["int_rate"], lc["term"]) - lc["installment"]).abs()
    # LC computes the instalment on the funded amount (lower than loan_amnt for ~5 % of loans,
    # a post-origination field we do not ship) and a few loans were repriced: about 91 % match.
    assert (diff < 0.02).mean() > 0.90
    assert diff.median() < 0.01


@pytest.mark.parametrize(
    ("application", "first_line", "expected"),
    [
        ("2011-12-01", "2003-01-01", 107),
        ("2011-12-01", "2011-12-01", 0),
        ("2011-12-15", "2011-11-20", 0),
        ("2011-12-20", "2011-11-20", 1),
        ("2010-03-01", "2010-05-01", -2),
        ("2007-06-01", "1946-01-01", 737),
    ],
)
def test_credit_age_months(application, first_line, expected):
    assert credit_age_months(application, first_line) == expected


def test_credit_age_months_series_with_missing():
    app = pd.Series(pd.to_datetime(["2011-12-01", "2011-12-01"]), index=[3, 4])
    first = pd.Series([pd.Timestamp("2001-12-01"), pd.NaT], index=[3, 4])
    out = credit_age_months(app, first)
    assert out.loc[3] == 120 and np.isnan(out.loc[4])


@pytest.mark.parametrize(
    ("income", "obligations", "instalment", "nth", "ratio"),
    [
        (5_000, 500, 500, 4_000, 0.8),
        (3_000, 0, 0, 3_000, 1.0),
        (2_000, 1_500, 800, -300, -0.15),
        (0, 100, 100, -200, np.nan),
    ],
)
def test_net_take_home_and_share(income, obligations, instalment, nth, ratio):
    got = net_take_home(income, obligations, instalment)
    assert got == pytest.approx(nth)
    share = nth_share_of_income(got, income)
    assert (np.isnan(share) and np.isnan(ratio)) or share == pytest.approx(ratio)


def test_lending_club_nth_hand_worked():
    # annual 60,000 -> 5,000 a month; dti 10 % -> 500 obligations; instalment 500 -> NTH 4,000.
    out = derive_one({"annual_inc": 60_000.0, "dti": 10.0, "installment": 500.0}, LC)
    assert {
        k: out[k] for k in ("monthly_income", "existing_obligations", "installment", "nth", "nth_ratio")
    } == pytest.approx(
        {"monthly_income": 5_000, "existing_obligations": 500, "installment": 500, "nth": 4_000, "nth_ratio": 0.8}
    )


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    principal=st.floats(100, 1e6),
    annual_rate=st.floats(0, 0.4),
    term=st.integers(1, 480),
)
def test_emi_properties(principal, annual_rate, term):
    """The instalment repays the loan, is at least principal/term and rises with the rate."""
    payment = emi(principal, annual_rate, term)
    r = annual_rate / 12
    balance = principal * (1 + r) ** term - payment * sum((1 + r) ** k for k in range(term))
    assert balance == pytest.approx(0.0, abs=1e-6 * principal)
    assert payment >= principal / term - 1e-9
    assert emi(principal, annual_rate + 0.01, term) > payment


def test_lending_club_features_fall_back_to_emi():
    df = pd.DataFrame(
        {
            "issue_d": pd.to_datetime(["2011-12-01"]),
            "earliest_cr_line": pd.to_datetime(["2003-01-01"]),
            "annual_inc": [60_000.0],
            "dti": [10.0],
            "loan_amnt": [10_000.0],
            "int_rate": [0.12],
            "term": [12],
        }
    )
    out = derive_frame(df, LC)
    assert out.loc[0, "credit_age_months"] == 107
    assert out.loc[0, "nth"] == pytest.approx(5_000 - 500 - 888.49, abs=0.005)

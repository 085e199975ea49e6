"""The declared derivation: one definition for a frame and for one applicant, one NTH with the
affordability check, and bad raw values refused by field and rule."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pydantic
import pytest

from lendscore.data import load_bundled
from lendscore.data.derivation import Derivation, InputSpec, derive_frame, derive_one
from lendscore.data.profiles import LENDING_CLUB_DERIVATION, get_profile
from lendscore.decision.affordability import AffordabilityRule, assess_affordability
from lendscore.errors import DataError

PROFILE = get_profile("lending_club_2007_2011")
SPEC = PROFILE.input_spec({})
OUTPUTS = list(LENDING_CLUB_DERIVATION.outputs)


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    return load_bundled("lending_club").drop(columns=["loan_status", "addr_state"])


def _one_by_one(frame: pd.DataFrame, **kw) -> pd.DataFrame:
    rows = [
        derive_one({k: v for k, v in r.items() if not (isinstance(v, float) and v != v)}, SPEC, **kw)
        for r in frame.to_dict("records")
    ]
    return pd.DataFrame(rows, index=frame.index)[OUTPUTS].astype(float)


@pytest.mark.parametrize("absent", [(), ("installment",), ("issue_d",), ("dti",), ("earliest_cr_line",)])
def test_one_applicant_equals_frame_on_every_row(raw, absent):
    """Every row of the bundled data, also with a field absent (the instalment then follows
    from amount, rate and term; without an issue date the decision date dates the application)."""
    frame = raw.drop(columns=list(absent))
    step = 1 if not absent else 7  # every row once; every 7th row for each absent field
    frame = frame.iloc[::step]
    kw = {"decision_date": "2012-01-15"}
    want = derive_frame(frame, SPEC, **kw)[OUTPUTS].astype(float)
    got = _one_by_one(frame, **kw)
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    if "installment" in absent:
        assert np.isfinite(got["nth"]).mean() > 0.99  # derived from amount, rate and term, not left missing


def test_missing_instalment_computed_as_lending_club_does(raw):
    """Lending Club's own instalment is the amortisation of amount, rate and term to the cent for
    nearly every loan (the rest were funded for less than the amount asked)."""
    d = derive_frame(raw.drop(columns=["installment"]).head(2000), SPEC, decision_date="2012-01-01")
    gap = np.abs(d["installment"].to_numpy() - raw["installment"].head(2000).to_numpy())
    assert np.mean(gap < 0.02) > 0.8 and np.median(gap) < 0.006


def test_finances_give_the_affordability_nth():
    """One NTH: with finances and loan the model's nth and nth_ratio are the affordability figures."""
    rng = np.random.default_rng(7)
    for _ in range(300):
        fin = {"gross_income": float(rng.uniform(500, 20_000)), "existing_obligations": float(rng.uniform(0, 3_000))}
        pick = rng.integers(3)
        if pick == 1:
            fin["net_income"] = fin["gross_income"] * float(rng.uniform(0.5, 1.0))
        elif pick == 2:
            fin["deductions"] = fin["gross_income"] * float(rng.uniform(0, 0.4))
        loan = {
            "amount": float(rng.uniform(500, 40_000)),
            "annual_rate": float(rng.choice([0.0, rng.uniform(0, 0.3)])),
            "term_months": int(rng.integers(6, 84)),
        }
        app = {"annual_inc": 99_999.0, "dti": 50.0, "installment": 1.0, "finances": fin, "loan": loan}
        d = derive_one(app, SPEC)
        a = assess_affordability(fin, loan, AffordabilityRule())  # deduction_rate 0: as the model reads it
        assert d["nth"] == a.nth and d["nth_ratio"] == a.nth_share and d["installment"] == a.new_instalment


@pytest.mark.parametrize(
    ("field", "value", "rule"),
    [
        ("earliest_cr_line", "2011-13-45", "must be an ISO date"),
        ("issue_d", "not-a-date", "must be an ISO date"),
        ("earliest_cr_line", "2012-05-01", "must not be after the application date"),
        ("annual_inc", -5.0, "must be >= 0"),
        ("revol_util", 12.3, "must be in [0, 5]"),
    ],
)
def test_bad_raw_values_are_refused_by_field_and_rule(field, value, rule):
    app = {
        "issue_d": "2011-12-01",
        "earliest_cr_line": "2001-01-01",
        "annual_inc": 60_000.0,
        "dti": 10.0,
        "installment": 300.0,
        field: value,
    }
    spec = PROFILE.input_spec({"revol_util": "numeric", "annual_inc": "numeric"})
    with pytest.raises(DataError, match=re.escape(rule)) as e:
        derive_one(app, spec)
    assert e.value.column == field and repr(value) in str(e.value)


def test_frame_error_names_rows():
    df = pd.DataFrame({"issue_d": ["2011-12-01"] * 3, "earliest_cr_line": ["2001-01-01", "x", "y"]})
    with pytest.raises(DataError, match=r"earliest_cr_line must be an ISO date.*'x'"):
        derive_frame(df, SPEC)


def test_derivation_is_strict_data():
    doc = SPEC.model_dump(mode="json")
    assert InputSpec.model_validate(doc) == SPEC
    bad = {"operations": [{"op": "nth_share", "nth": "nth", "monthly_income": "m", "output": "r", "code": "x"}]}
    with pytest.raises(pydantic.ValidationError, match="code"):
        Derivation.model_validate(bad)
    with pytest.raises(pydantic.ValidationError):
        Derivation.model_validate({"operations": [{"op": "eval", "output": "x"}]})


def test_scalar_instalment_matches_vectorised_emi():
    """The twin of :func:`emi`: the decision path's scalar instalment, within float rounding."""
    from lendscore.data.derive import emi, instalment_one

    rng = np.random.default_rng(3)
    p, r, n = rng.uniform(100, 1e6, 5000), rng.uniform(0, 0.4, 5000), rng.integers(1, 481, 5000)
    r[:200] = 0.0
    r[200:400] = 1e-9
    vec = emi(p, r, n)
    one = np.array([instalment_one(a, b, c) for a, b, c in zip(p, r, n, strict=True)])
    assert np.max(np.abs(vec - one) / one) < 1e-14


def test_an_overflow_is_refused_by_the_field_it_makes():
    """Found by fuzzing the API: dti and income near the float limit overflowed the obligations (the
    magnitude rule now refuses such inputs first); without declared fields the derivation still
    names the derived field and its inputs instead of carrying inf into a decision."""
    bare = InputSpec(derivation=LENDING_CLUB_DERIVATION)
    with pytest.raises(DataError, match=r"existing_obligations is too large to compute \(from dti, monthly_income\)"):
        derive_one({"annual_inc": 1e308, "dti": 1e300, "installment": 100.0}, bare)
    with pytest.raises(DataError, match="existing_obligations is too large"):
        derive_frame(pd.DataFrame({"annual_inc": [5e4, 1e308], "dti": [10.0, 1e300], "installment": [1.0, 1.0]}), bare)
    with pytest.raises(DataError, match=r"annual_inc must be a finite number within \+-1e\+12"):
        derive_one({"annual_inc": 1e308, "dti": 1e300, "installment": 100.0}, SPEC)


@pytest.mark.parametrize("value", [1e13, -2e15, float("inf")])
def test_absurd_magnitudes_are_refused_by_one_rule_everywhere(value):
    """One rule for every number, in training's quality check and in every scoring door, with and
    without a declared derivation: non-finite or beyond +-1e12 is refused naming field and rule."""
    from lendscore.data.derivation import input_spec_for
    from lendscore.data.quality import MAGNITUDE_RULE, RowValidator

    plain = input_spec_for({"total_acc": "numeric"})
    for spec in (PROFILE.input_spec({"total_acc": "numeric"}), plain):
        with pytest.raises(DataError, match=re.escape(MAGNITUDE_RULE)) as e:
            derive_one({"total_acc": value, "annual_inc": 5e4}, spec)
        assert e.value.column == "total_acc"
        with pytest.raises(DataError, match=re.escape(MAGNITUDE_RULE)):
            derive_frame(pd.DataFrame({"total_acc": [3.0, value], "annual_inc": [5e4, 5e4]}), spec)
    v = RowValidator(pd.DataFrame({"total_acc": [3.0, value]}), source="t")
    assert v.check_magnitude("total_acc") == 1


def test_refusals_show_plain_values():
    with pytest.raises(DataError) as e:
        derive_frame(pd.DataFrame({"annual_inc": [5e4, -3.5]}), SPEC)
    assert "got -3.5 in 1 rows (first: row 1)" in str(e.value) and "np." not in str(e.value)

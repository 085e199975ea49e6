"""The declared applicant schema: what lendscore knows about an applicant, by factor group.

The five factor groups of the mission are payment history, credit utilization, credit age,
credit inquiries and the inputs of net take-home pay (NTH): income, existing obligations,
requested amount, term and rate. Every field declares its unit and bounds; dataset profiles
(:mod:`lendscore.data.profiles`) map their own columns onto these fields.

Conventions: money is in the dataset's currency; rates and utilization are **fractions**
(0.1065, not 10.65 %); durations are **months**; counts are non-negative integers stored as floats
(NaN = missing).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

__all__ = ["FactorGroup", "FieldSpec", "APPLICANT_SCHEMA", "field_spec"]

Dtype = Literal["float", "int", "category", "date"]


class FactorGroup(StrEnum):
    """The five factor groups a credit decision is explained by."""

    PAYMENT_HISTORY = "payment_history"
    CREDIT_UTILIZATION = "credit_utilization"
    CREDIT_AGE = "credit_age"
    CREDIT_INQUIRIES = "credit_inquiries"
    NTH_INPUTS = "nth_inputs"


@dataclass(frozen=True)
class FieldSpec:
    """One declared applicant field.

    ``lower``/``upper`` are inclusive bounds (None = unbounded); a value outside them is impossible
    and the row is rejected by the quality checks.
    """

    name: str
    group: FactorGroup
    dtype: Dtype
    unit: str
    lower: float | None
    upper: float | None
    description: str


_P, _U, _A, _I, _N = (
    FactorGroup.PAYMENT_HISTORY,
    FactorGroup.CREDIT_UTILIZATION,
    FactorGroup.CREDIT_AGE,
    FactorGroup.CREDIT_INQUIRIES,
    FactorGroup.NTH_INPUTS,
)

#: Every field of the applicant schema, in factor-group order.
APPLICANT_SCHEMA: tuple[FieldSpec, ...] = (
    FieldSpec("delinquencies_2y", _P, "float", "count", 0, None, "30+ days past-due incidences in the past 2 years"),
    FieldSpec(
        "past_due_30_59", _P, "float", "count", 0, None, "times 30-59 days past due (not worse) in the past 2 years"
    ),
    FieldSpec(
        "past_due_60_89", _P, "float", "count", 0, None, "times 60-89 days past due (not worse) in the past 2 years"
    ),
    FieldSpec("past_due_90", _P, "float", "count", 0, None, "times 90+ days late"),
    FieldSpec(
        "months_since_last_delinquency",
        _P,
        "float",
        "months",
        0,
        None,
        "months since the last delinquency (NaN = none on file)",
    ),
    FieldSpec(
        "months_since_last_record",
        _P,
        "float",
        "months",
        0,
        None,
        "months since the last public record (NaN = none on file)",
    ),
    FieldSpec("public_records", _P, "float", "count", 0, None, "derogatory public records"),
    FieldSpec("bankruptcies", _P, "float", "count", 0, None, "public-record bankruptcies"),
    FieldSpec(
        "credit_history_code", _P, "category", "code", None, None, "coded repayment history (German credit A30-A34)"
    ),
    FieldSpec("adverse_records", _P, "category", "yes/no", None, None, "adverse credit records on file (Belanche)"),
    FieldSpec(
        "revolving_utilization",
        _U,
        "float",
        "fraction",
        0,
        5,
        "revolving balance / revolving credit limit (1.0 = at the limit)",
    ),
    FieldSpec("revolving_balance", _U, "float", "currency", 0, None, "total revolving balance"),
    FieldSpec(
        "credit_age_months",
        _A,
        "float",
        "months",
        0,
        1200,
        "months from the earliest credit line to the application date",
    ),
    FieldSpec("inquiries_6m", _I, "float", "count", 0, None, "credit inquiries in the 6 months before the application"),
    FieldSpec(
        "monthly_income", _N, "float", "currency/month", 0, None, "gross (or net, as the dataset states) monthly income"
    ),
    FieldSpec("annual_income", _N, "float", "currency/year", 0, None, "gross annual income"),
    FieldSpec(
        "existing_obligations",
        _N,
        "float",
        "currency/month",
        0,
        None,
        "monthly payments on existing debts (and, where stated, living costs)",
    ),
    FieldSpec(
        "debt_to_income",
        _N,
        "float",
        "percent",
        0,
        None,
        "existing monthly debt payments / gross monthly income x 100 (Lending Club dti)",
    ),
    FieldSpec(
        "debt_ratio", _N, "float", "fraction", 0, None, "existing monthly obligations / monthly income (GMSC DebtRatio)"
    ),
    FieldSpec("requested_amount", _N, "float", "currency", 0, None, "principal requested"),
    FieldSpec("term_months", _N, "float", "months", 1, 600, "loan term"),
    FieldSpec("annual_rate", _N, "float", "fraction", 0, 1, "nominal annual interest rate"),
    FieldSpec("instalment", _N, "float", "currency/month", 0, None, "monthly payment of the requested loan (EMI)"),
    FieldSpec(
        "installment_rate_pct",
        _N,
        "float",
        "percent class",
        1,
        4,
        "instalment as a share of disposable income, coded 1-4 (German credit)",
    ),
)

_BY_NAME = {f.name: f for f in APPLICANT_SCHEMA}


def field_spec(name: str) -> FieldSpec:
    """Return the declared field ``name``; raise ``KeyError`` naming the known fields."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown schema field {name!r}; known fields: {sorted(_BY_NAME)}") from None

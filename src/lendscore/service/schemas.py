"""Request and response schemas (separate in/out models).

The applicant's fields are built at start-up from the loaded model file's ``inputs`` section
(:func:`build_request_schemas`): a number field becomes ``float | None`` with its value rule as
``ge`` / ``le`` bounds, a date field ``datetime.date | None`` (ISO text, ``format: date`` in the
OpenAPI schema), a category ``str | None``; every field is optional (absent or null = missing) and
unknown fields are refused. Fields the derivation computes (NTH, credit age, ...) are accepted
too, but the derivation overrides them when their raw fields are given. Field names are the
model's column names (pydantic aliases, so any column name works).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, create_model
from pydantic_core import PydanticCustomError

from lendscore.data.derivation import InputSpec
from lendscore.decision import Finances, LoanRequest

__all__ = [
    "AffordabilityOut",
    "BatchOut",
    "CounterOfferOut",
    "DecisionOut",
    "DecisionSummary",
    "ErrorOut",
    "FieldError",
    "ModelsOut",
    "OutcomeBatchIn",
    "OutcomeBatchOut",
    "OutcomeIn",
    "OutcomeOut",
    "OutcomeRowIn",
    "ReasonOut",
    "RequestSchemas",
    "ScaleOut",
    "StepOut",
    "ValidationErrorOut",
    "WarningOut",
    "WhoAmIOut",
    "build_request_schemas",
]

MAX_CATEGORY_LENGTH = 200
_ID_PATTERN = r"^[A-Za-z0-9._:-]{1,64}$"


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class _Out(BaseModel):
    model_config = ConfigDict(extra="ignore")


@dataclass(frozen=True)
class RequestSchemas:
    """The request models built for one loaded model, and the fields they accept."""

    applicant: type[BaseModel]
    decision_in: type[BaseModel]
    batch_in: type[BaseModel]
    field_names: tuple[str, ...]
    """Every applicant field accepted, in the model file's order."""
    kinds: dict[str, str]
    """Field -> ``numeric``, ``categorical`` or ``date``."""
    requested: tuple[str, ...] = ()
    """Fields a person is asked for (``InputSpec.requested``: not derived)."""
    date_fields: tuple[str, ...] = ()
    spec: InputSpec | None = None


def _py_name(i: int, name: str) -> str:
    clean = re.sub(r"\W", "_", name)
    return f"f{i}_{clean}"


MAX_MONTHLY_AMOUNT = 1e9
"""Largest monthly income, deduction or obligation accepted (far above any real one; larger values
make the affordability search lose float precision)."""
MAX_LOAN_AMOUNT = 1e10


class FinancesIn(Finances):
    """The applicant's monthly finances (the decision package's model, with upper bounds)."""

    gross_income: float = Field(gt=0, le=MAX_MONTHLY_AMOUNT, description="gross monthly income")
    net_income: float | None = Field(default=None, ge=0, le=MAX_MONTHLY_AMOUNT, description="net monthly income")
    deductions: float | None = Field(default=None, ge=0, le=MAX_MONTHLY_AMOUNT, description="statutory deductions")
    existing_obligations: float = Field(
        default=0.0, ge=0, le=MAX_MONTHLY_AMOUNT, description="existing monthly instalments"
    )


class LoanRequestIn(LoanRequest):
    """The loan asked for (the decision package's model, with an upper bound on the amount)."""

    amount: float = Field(gt=0, le=MAX_LOAN_AMOUNT, description="principal requested")


def _iso_text(value: Any) -> Any:
    """A date must come as text (pydantic would read a number as a Unix time)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise PydanticCustomError("date_type", "Input should be an ISO date (YYYY-MM-DD), not a number")
    return value


IsoDate = Annotated[dt.date, BeforeValidator(_iso_text)]


def build_request_schemas(spec: InputSpec, max_batch: int) -> RequestSchemas:
    """Applicant, single-decision and batch request models for a model file's ``inputs``."""
    made_by = {op.output: op for op in spec.derivation.operations}
    fields: dict[str, Any] = {}
    kinds: dict[str, str] = {}
    names: list[str] = []

    def note(name: str, what: str) -> str:
        op = made_by.get(name)
        if op is None:
            return what
        return (
            f"{what}; derived ({op.op}) from {', '.join(op.reads())} or from the finances and loan "
            "when they are given, which overrides a value sent here"
        )

    for i, f in enumerate(spec.fields):
        key = _py_name(i, f.name)
        if f.type == "category":
            kinds[f.name] = "categorical"
            fields[key] = (
                str | None,
                Field(default=None, alias=f.name, max_length=MAX_CATEGORY_LENGTH, description=note(f.name, "category")),
            )
        elif f.type == "date":
            kinds[f.name] = "date"
            fields[key] = (
                IsoDate | None,
                Field(default=None, alias=f.name, description=note(f.name, "date (YYYY-MM-DD)")),
            )
        else:
            kinds[f.name] = "numeric"
            fields[key] = (
                float | None,
                Field(default=None, alias=f.name, ge=f.min, le=f.max, description=note(f.name, "number")),
            )
        names.append(f.name)
    extra = [o for o in spec.derivation.outputs if o not in kinds]  # intermediate outputs (monthly income, ...)
    for j, name in enumerate(extra, start=len(fields)):
        kinds[name] = "numeric"
        fields[_py_name(j, name)] = (
            float | None,
            Field(default=None, alias=name, description=note(name, "number (not a model input)")),
        )
        names.append(name)
    for j, (name, why) in enumerate(spec.ignored.items(), start=len(fields)):
        if name in kinds:
            continue
        kinds[name] = "categorical"
        fields[_py_name(j, name)] = (
            str | float | None,
            Field(default=None, alias=name, description=f"not read by the model: {why}"),
        )
        names.append(name)
    applicant = create_model(
        "Applicant",
        __base__=_In,
        __doc__="The applicant's fields: the model's inputs and "
        "the raw fields its derivation reads (all optional: absent or null = missing).",
        **fields,
    )
    decision_in = create_model(
        "DecisionIn",
        __base__=_In,
        __doc__="One application.",
        applicant=(applicant, Field(description="the applicant's fields")),
        finances=(FinancesIn | None, Field(default=None, description="monthly finances for the NTH check")),
        loan=(LoanRequestIn | None, Field(default=None, description="the loan asked for")),
        applicant_id=(
            str | None,
            Field(
                default=None, pattern=_ID_PATTERN, description="the origination system's reference (not personal data)"
            ),
        ),
    )
    batch_in = create_model(
        "BatchIn",
        __base__=_In,
        __doc__=f"Up to {max_batch} applications.",
        applications=(list[decision_in], Field(min_length=1, max_length=max_batch)),
    )
    return RequestSchemas(
        applicant,
        decision_in,
        batch_in,
        tuple(names),
        kinds,
        requested=tuple(spec.requested),
        date_fields=tuple(n for n, k in kinds.items() if k == "date"),
        spec=spec,
    )


class ReasonOut(_Out):
    code: str
    text: str
    kind: Literal["score", "policy"]
    characteristic: str | None = None
    shortfall: float | None = None


class CounterOfferOut(_Out):
    max_amount: float
    min_term: int | None


class AffordabilityOut(_Out):
    """The NTH breakdown, monthly: income - deductions = net income; net income - existing
    obligations - new instalment = nth (what is left)."""

    income: float
    deductions: float
    net_income: float
    existing_obligations: float
    new_instalment: float
    nth: float
    nth_share: float
    foir: float
    floor: float
    passed: bool
    failed_rules: list[str]
    margin: float
    counter_offer: CounterOfferOut


class StepOut(_Out):
    stage: str
    outcome: Literal["approve", "refer", "decline"]


class WarningOut(_Out):
    """A value the model scored by a declared rule rather than as seen in training."""

    field: str = Field(description="the model input")
    rule: str = Field(
        description="unseen_category (scored in the unseen-category bin), below_training_range or "
        "above_training_range (scored in the outermost bin)"
    )
    value: float | str | None


class DecisionOut(_Out):
    decision_id: str
    request_id: str
    created_at: dt.datetime
    applicant_id: str | None = None
    outcome: Literal["approve", "refer", "decline"]
    pd: float
    score: float
    grade: str | None
    affordability: AffordabilityOut | None
    reasons: list[ReasonOut]
    steps: list[StepOut]
    points: dict[str, float]
    warnings: list[WarningOut] = Field(
        default_factory=list, description="input values scored by a rule rather than as seen in training"
    )
    model_version: str
    policy_version: str


class BatchOut(_Out):
    batch_id: str
    decisions: list[DecisionOut]


class DecisionSummary(_Out):
    decision_id: str
    created_at: dt.datetime
    applicant_id: str | None
    outcome: Literal["approve", "refer", "decline"]
    pd: float
    score: float
    grade: str | None
    model_version: str


class OutcomeIn(_In):
    """The realised outcome of a decided loan."""

    decision_id: str = Field(min_length=1, max_length=64)
    defaulted: bool = Field(description="true if the loan defaulted (event = bad)")
    outcome_date: dt.date | None = Field(
        default=None, description="when the outcome was observed (required: refused as missing_field when absent)"
    )


class OutcomeRowIn(_In):
    """One row of an outcome batch. Types are loose on purpose: a bad row is refused with a reason
    and counted by :func:`lendscore.monitoring.validate_outcomes`, not by failing the whole batch."""

    decision_id: str | None = Field(default=None, max_length=64)
    defaulted: bool | int | float | str | None = Field(default=None, description="1/true = defaulted, 0/false = not")
    outcome_date: str | None = Field(default=None, max_length=40, description="ISO date")


class OutcomeBatchIn(_In):
    """Outcomes reported together."""

    outcomes: list[OutcomeRowIn] = Field(min_length=1, max_length=1_000_000)


class OutcomeRejectedRow(_Out):
    row: int
    decision_id: str | None
    reason: str
    detail: str | None


class OutcomeBatchOut(_Out):
    """How many were stored, and the rejection report (counts by reason; at most 100 refused rows listed)."""

    n_received: int
    n_accepted: int
    n_rejected: int
    counts: dict[str, int]
    rejected: list[OutcomeRejectedRow]


class OutcomeOut(_Out):
    decision_id: str
    defaulted: bool
    outcome_date: dt.date | None
    reported_at: dt.datetime


class WhoAmIOut(_Out):
    name: str
    role: Literal["scorer", "officer", "admin"]


class BandOut(_Out):
    outcome: Literal["approve", "refer", "decline"]
    min: float
    max: float


class ScaleOut(_Out):
    """Where a score can sit: the model's score range and the policy's bands."""

    basis: Literal["score", "pd"]
    score_min: float
    score_max: float
    bands: list[BandOut]
    grades: list[dict[str, Any]]


class ModelsOut(_Out):
    model: dict[str, Any]
    challenger: dict[str, Any] | None = None
    source: str
    policy: dict[str, Any]
    catalogue_version: str


class FieldError(_Out):
    field: str = Field(description="dotted path of the invalid field, e.g. applicant.dti")
    rule: str = Field(description="the rule broken (pydantic error type), e.g. float_parsing")
    message: str


class ValidationErrorOut(_Out):
    detail: str
    errors: list[FieldError]
    request_id: str | None = None


class ErrorOut(_Out):
    detail: str
    request_id: str | None = None

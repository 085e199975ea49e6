"""Request and response schemas (separate in/out models).

The applicant's fields are built at start-up from the loaded model file's ``inputs`` section
(:func:`build_request_schemas`): a number field becomes ``float | None`` with its value rule as
``ge`` / ``le`` bounds (every number, the model's inputs or not, within the magnitude rule's
+-:data:`~lendscore.data.quality.MAX_MAGNITUDE`, the field's own bounds where tighter), a date
field ``datetime.date | None`` (ISO text, ``format: date`` in the OpenAPI schema), a category
``str | None``; every field is optional (absent or null = missing) and unknown fields are refused.
Fields the derivation computes (NTH, credit age, ...) are accepted too, but the derivation
overrides them when their raw fields are given. Field names are the model's column names
(pydantic aliases, so any column name works).

A value is accepted as the schema types it, nothing more: a number is a JSON number (not ``true``
or ``"1.5"``, which pydantic's lax mode would read as one), a boolean ``true`` / ``false`` (not ``1``
or ``"yes"``), an integer a JSON integer, a date ``YYYY-MM-DD`` text (not a date-time or a number).
The bounds are the schema's, so the OpenAPI document states the rules the server enforces; the
rules between fields, which JSON Schema cannot state (``net_income <= gross_income``, a first credit
line not after the application date, an NTH share that must not overflow, an outcome not dated
before its decision), are written in the descriptions of the objects and fields they bind.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, create_model
from pydantic_core import PydanticCustomError

from lendscore.data.derivation import CreditAgeMonths, InputSpec, MonthlyIncome, NthShare
from lendscore.data.quality import MAX_MAGNITUDE
from lendscore.decision import Finances, LoanRequest
from lendscore.decision.affordability import MAX_ANNUAL_RATE, MAX_TERM_MONTHS

__all__ = [
    "AffordabilityOut",
    "BatchOut",
    "CounterOfferOut",
    "DecisionOut",
    "DecisionSummary",
    "ErrorOut",
    "FieldError",
    "GradeOut",
    "HealthOut",
    "ModelsOut",
    "OutcomeBatchIn",
    "OutcomeBatchOut",
    "OutcomeIn",
    "OutcomeOut",
    "OutcomeRowIn",
    "ReadyOut",
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


def _reads_as_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def _json_number(value: Any) -> Any:
    """A number is a JSON number: ``true`` and ``"1.5"``, which pydantic's lax mode reads as numbers,
    are refused (``float_type``); other text is left to pydantic (``float_parsing``)."""
    if isinstance(value, bool) or (isinstance(value, str) and _reads_as_number(value)):
        raise PydanticCustomError("float_type", "Input should be a valid number (a JSON number, not text or a boolean)")
    return value


def _json_integer(value: Any) -> Any:
    """An integer is a JSON integer (``3`` or ``3.0``): ``true`` and ``"3"`` are refused (``int_type``)."""
    if isinstance(value, bool) or (isinstance(value, str) and _reads_as_number(value)):
        raise PydanticCustomError("int_type", "Input should be a valid integer (a JSON number, not text or a boolean)")
    return value


Number = Annotated[float, BeforeValidator(_json_number)]
Integer = Annotated[int, BeforeValidator(_json_integer)]
# A nullable number's bounds go inside its Annotated, before the validator: given on the field of an
# ``Annotated[float, BeforeValidator(...)] | None``, pydantic writes them in the JSON schema as the
# unknown keywords ``ge`` / ``le`` instead of ``minimum`` / ``maximum`` (they are still enforced).
MonthlyAmount = Annotated[float, Field(ge=0, le=MAX_MONTHLY_AMOUNT), BeforeValidator(_json_number)]


def _bounded(low: float, high: float) -> Any:
    """A number within [low, high] (JSON number only), for a field built at start-up."""
    return Annotated[float, Field(ge=low, le=high), BeforeValidator(_json_number)]


class FinancesIn(Finances):
    """The applicant's monthly finances (the decision package's model, with upper bounds).
    net_income and deductions must each be <= gross_income (a 422 otherwise)."""

    gross_income: Number = Field(gt=0, le=MAX_MONTHLY_AMOUNT, description="gross monthly income")
    net_income: MonthlyAmount | None = Field(default=None, description="net monthly income; must be <= gross_income")
    deductions: MonthlyAmount | None = Field(default=None, description="statutory deductions; must be <= gross_income")
    existing_obligations: Number = Field(
        default=0.0, ge=0, le=MAX_MONTHLY_AMOUNT, description="existing monthly instalments"
    )
    dependants: Integer = Field(default=0, ge=0, le=30)
    employer_undertaking: bool = Field(default=False, strict=True)


class LoanRequestIn(LoanRequest):
    """The loan asked for (the decision package's model, with an upper bound on the amount)."""

    amount: Number = Field(gt=0, le=MAX_LOAN_AMOUNT, description="principal requested")
    annual_rate: Number = Field(ge=0, le=MAX_ANNUAL_RATE, description="annual rate as a fraction")
    term_months: Integer = Field(ge=1, le=MAX_TERM_MONTHS, description="term in months")


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_text(value: Any) -> Any:
    """A date must come as ``YYYY-MM-DD`` text (pydantic would read a number as a Unix time and
    ``2011-06-01T00:00:00`` as a date)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise PydanticCustomError("date_type", "Input should be an ISO date (YYYY-MM-DD), not a number")
    if isinstance(value, str) and not _ISO_DATE.fullmatch(value):
        raise PydanticCustomError("date_format", "Input should be an ISO date (YYYY-MM-DD)")
    return value


IsoDate = Annotated[dt.date, BeforeValidator(_iso_text)]


def _within_magnitude(value: Any) -> Any:
    if isinstance(value, float) and not abs(value) <= MAX_MAGNITUDE:
        raise PydanticCustomError(
            "magnitude", "Input should be a number within +-{limit}", {"limit": f"{MAX_MAGNITUDE:g}"}
        )
    return value


TextOrNumber = Annotated[
    str | Annotated[float, Field(strict=True)] | None,
    AfterValidator(_within_magnitude),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string"},
                {"type": "number", "minimum": -MAX_MAGNITUDE, "maximum": MAX_MAGNITUDE},
                {"type": "null"},
            ]
        }
    ),
]
"""A field the model does not read: text or a number (within the magnitude rule), or null."""


def _bounds(low: float | None, high: float | None) -> Any:
    """A declared number field's type: its own rule where tighter than the magnitude rule."""
    return _bounded(
        -MAX_MAGNITUDE if low is None else max(low, -MAX_MAGNITUDE),
        MAX_MAGNITUDE if high is None else min(high, MAX_MAGNITUDE),
    )


SMALLEST_DIVISOR = 1e-296
"""About the smallest positive monthly income an NTH share (NTH / income, the NTH within +-1e12)
can be divided by without overflowing: below it the derivation refuses the share as too large to
compute."""


def _cross_field_rules(spec: InputSpec) -> list[tuple[tuple[str, ...], str]]:
    """The rules between fields the derivation enforces (a 422 naming the field): (the applicant
    fields each binds, the rule)."""
    ops = spec.derivation.operations
    made_by = {op.output: op for op in ops}
    out: list[tuple[tuple[str, ...], str]] = []
    for op in ops:
        if isinstance(op, CreditAgeMonths):
            out.append(
                (
                    (op.earliest_credit_line,),
                    f"{op.earliest_credit_line} must not be after the application date ({op.application_date}; "
                    "the day of the decision, UTC, when it is absent)",
                )
            )
        elif isinstance(op, NthShare):
            income = made_by.get(op.monthly_income)
            annual = income.annual_income if isinstance(income, MonthlyIncome) else None
            sources = [op.monthly_income] + ([f"{annual} / 12"] if annual else [])
            out.append(
                (
                    (op.monthly_income,) + ((annual,) if annual else ()),
                    f"{op.output} = {op.nth} / {op.monthly_income} must come out finite: a positive monthly "
                    f"income ({', '.join(sources)} or, with finances and a loan, finances.gross_income) "
                    f"below about {SMALLEST_DIVISOR:g} overflows it and is refused as too large to compute",
                )
            )
    return out


def build_request_schemas(spec: InputSpec, max_batch: int) -> RequestSchemas:
    """Applicant, single-decision and batch request models for a model file's ``inputs``."""
    made_by = {op.output: op for op in spec.derivation.operations}
    fields: dict[str, Any] = {}
    kinds: dict[str, str] = {}
    names: list[str] = []

    rules = _cross_field_rules(spec)

    def note(name: str, what: str) -> str:
        for bound, rule in rules:
            if name in bound:
                what = f"{what}; {rule}"
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
                _bounds(f.min, f.max) | None,
                Field(default=None, alias=f.name, description=note(f.name, "number")),
            )
        names.append(f.name)
    extra = [o for o in spec.derivation.outputs if o not in kinds]  # intermediate outputs (monthly income, ...)
    for j, name in enumerate(extra, start=len(fields)):
        kinds[name] = "numeric"
        fields[_py_name(j, name)] = (
            _bounds(None, None) | None,
            Field(default=None, alias=name, description=note(name, "number (not a model input)")),
        )
        names.append(name)
    for j, (name, why) in enumerate(spec.ignored.items(), start=len(fields)):
        if name in kinds:
            continue
        kinds[name] = "categorical"
        fields[_py_name(j, name)] = (
            TextOrNumber,
            Field(default=None, alias=name, description=f"not read by the model: {why}"),
        )
        names.append(name)
    applicant = create_model(
        "Applicant",
        __base__=_In,
        __doc__="The applicant's fields: the model's inputs and "
        "the raw fields its derivation reads (all optional: absent or null = missing)."
        + (f" Rules between fields (a 422 naming the field): {'; '.join(r for _, r in rules)}." if rules else ""),
        **fields,
    )
    decision_in = create_model(
        "DecisionIn",
        __base__=_In,
        __doc__="One application. Rules between fields (a 422 naming the field): "
        + "; ".join(
            [
                *(r for _, r in rules),
                "finances.net_income and finances.deductions must each be <= finances.gross_income",
            ]
        )
        + ".",
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


def _outcome_date_required(schema: dict[str, Any]) -> None:
    """The schema of :class:`OutcomeIn` says what the service accepts: ``outcome_date`` is a required
    date (an absent or null one is refused as ``missing_field`` by the outcome validation, which
    counts it, rather than by the request model)."""
    date = schema["properties"]["outcome_date"]
    date.pop("anyOf", None)
    date.pop("default", None)
    date.update(type="string", format="date")
    schema["required"] = [*schema.get("required", []), "outcome_date"]


class OutcomeIn(_In):
    """The realised outcome of a decided loan. Its outcome_date must not be before the day of the
    decision (UTC): a 422 before_decision otherwise."""

    model_config = ConfigDict(json_schema_extra=_outcome_date_required)

    decision_id: str = Field(min_length=1, max_length=64)
    defaulted: bool = Field(strict=True, description="true if the loan defaulted (event = bad)")
    outcome_date: IsoDate | None = Field(
        default=None,
        description="when the outcome was observed: not before the day of the decision (UTC); required "
        "(refused as missing_field when absent or null)",
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
    """A policy band: min <= value < max, of the policy's basis (score or PD)."""

    outcome: Literal["approve", "refer", "decline"]
    min: float | None = Field(description="lower edge; null: unbounded below")
    max: float | None = Field(description="upper edge; null: unbounded above")


class GradeOut(_Out):
    """A grade's PD range and the score range it maps to."""

    grade: str
    pd_min: float
    pd_max: float
    score_min: float | None = Field(description="null: unbounded below")
    score_max: float | None = Field(description="null: unbounded above")


class ScaleOut(_Out):
    """Where a score can sit: the model's score range and the policy's bands."""

    basis: Literal["score", "pd"]
    score_min: float
    score_max: float
    bands: list[BandOut]
    grades: list[GradeOut]


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
    """A refused request: every field that breaks a rule (the request model's or, while deciding,
    the derivation's or the policy's)."""

    detail: str = Field(description='"request validation failed"')
    errors: list[FieldError]
    request_id: str | None = None


class ErrorOut(_Out):
    detail: str
    request_id: str | None = None


class HealthOut(_Out):
    status: Literal["ok"]


class ReadyChecks(_Out):
    model: bool
    audit_store: bool


class ReadyOut(_Out):
    """Ready (200) when the model is loaded and the audit store answers; 503 otherwise."""

    status: Literal["ready", "not ready"]
    checks: ReadyChecks

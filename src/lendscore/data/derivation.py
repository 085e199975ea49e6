"""The applicant's inputs as a model file declares them: fields, value rules and the derivation.

A model file carries an :class:`InputSpec` (section ``inputs``): the fields an application may
carry (the model's inputs and the raw fields its derivation reads, each with its type and value
rules) and a :class:`Derivation`, a list of named, versioned operations that turn raw fields into
model inputs (credit age from two dates, the instalment, monthly income, existing obligations,
NTH and NTH share). It is data, never code: every door (``predict_one``, ``predict_proba`` on a
raw frame, ``lendscore score`` / ``decide``, the HTTP API, the officer page, ``monitor``, the SQL
export) reads the same declaration and runs the same functions of :mod:`lendscore.data.derive`.

One definition of each operation: :func:`derive_columns` works on columns (numpy arrays); a frame
(:func:`derive_frame`) and one applicant (:func:`derive_one`, a one-row set of columns) both go
through it, so a dict scores exactly as a row.

Which value an operation's output takes, row by row:

1. the **application's finances** (``finances`` and ``loan``, as the affordability check reads
   them) when the row carries both: monthly income = ``finances.gross_income``, existing
   obligations = ``finances.existing_obligations``, the instalment from ``loan``, NTH after the
   applicant's deductions (``gross - net_income``, or ``deductions``, else 0; a decision door
   fills ``deductions`` from its policy first, see
   :func:`lendscore.decision.affordability.complete_finances`) -- so the NTH the score uses is the
   NTH the decision shows;
2. else the **raw fields** of the operation when the row has them all (Lending Club: income from
   ``annual_inc``, obligations from ``dti``, the instalment ``installment`` or from amount, rate
   and term);
3. else the value given for the output field itself (a frame prepared for training carries
   ``credit_age_months`` already);
4. else missing.

A raw value the derivation cannot read (a date such as ``2011-13-45``, an earliest credit line
after the application date, a value outside its field's rule) raises :class:`DataError` naming
the field, the rule and the value (and, for a frame, how many rows and the first one).
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from lendscore.data.derive import as_dates, credit_age_months, emi, instalment_one, net_take_home, nth_share_of_income
from lendscore.data.quality import MAGNITUDE_RULE, MAX_MAGNITUDE
from lendscore.errors import DataError, SchemaError

__all__ = [
    "APPLICATION_GROUPS",
    "CreditAgeMonths",
    "Derivation",
    "ExistingObligations",
    "InputField",
    "InputSpec",
    "Instalment",
    "MonthlyIncome",
    "NetTakeHome",
    "NthShare",
    "derive_columns",
    "derive_frame",
    "derive_one",
    "application_frame",
    "flatten_application",
    "input_spec_for",
]

APPLICATION_GROUPS = ("finances", "loan")
"""Nested groups an application may carry beside its fields (dotted columns in a flat file)."""
_FIN = ("finances.gross_income", "finances.net_income", "finances.deductions", "finances.existing_obligations")
_LOAN = ("loan.amount", "loan.annual_rate", "loan.term_months")


class _Op(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1] = 1
    output: str

    def reads(self) -> tuple[str, ...]:
        """Fields this operation reads (in the order of its formula)."""
        raise NotImplementedError


class CreditAgeMonths(_Op):
    """Whole months from the earliest credit line to the application date
    (:func:`~lendscore.data.derive.credit_age_months`). Without an application date the decision
    date is used (a new application is dated the day it is decided)."""

    op: Literal["credit_age_months"] = "credit_age_months"
    application_date: str
    earliest_credit_line: str

    def reads(self) -> tuple[str, ...]:
        return (self.earliest_credit_line,)


class Instalment(_Op):
    """The new loan's monthly instalment: ``given`` when the row has it, else the standard
    amortisation of ``amount`` at ``annual_rate`` (a fraction) over ``term_months``."""

    op: Literal["instalment"] = "instalment"
    given: str | None = None
    amount: str
    annual_rate: str
    term_months: str

    def reads(self) -> tuple[str, ...]:
        return (self.amount, self.annual_rate, self.term_months)


class MonthlyIncome(_Op):
    """Gross monthly income: ``annual_income / 12``."""

    op: Literal["monthly_income"] = "monthly_income"
    annual_income: str

    def reads(self) -> tuple[str, ...]:
        return (self.annual_income,)


class ExistingObligations(_Op):
    """Existing monthly obligations from a debt-to-income ratio in percent:
    ``debt_to_income / 100 * monthly_income``."""

    op: Literal["existing_obligations"] = "existing_obligations"
    debt_to_income_percent: str
    monthly_income: str

    def reads(self) -> tuple[str, ...]:
        return (self.debt_to_income_percent, self.monthly_income)


class NetTakeHome(_Op):
    """NTH: ``(monthly_income - deductions) - existing_obligations - instalment``
    (:func:`~lendscore.data.derive.net_take_home`; deductions are 0 on the raw-field route)."""

    op: Literal["net_take_home"] = "net_take_home"
    monthly_income: str
    existing_obligations: str
    instalment: str

    def reads(self) -> tuple[str, ...]:
        return (self.monthly_income, self.existing_obligations, self.instalment)


class NthShare(_Op):
    """NTH as a share of gross monthly income (missing where income is not positive)."""

    op: Literal["nth_share"] = "nth_share"
    nth: str
    monthly_income: str

    def reads(self) -> tuple[str, ...]:
        return (self.nth, self.monthly_income)


Operation = Annotated[
    CreditAgeMonths | Instalment | MonthlyIncome | ExistingObligations | NetTakeHome | NthShare,
    Field(discriminator="op"),
]


class Derivation(BaseModel):
    """Operations applied in order; each may read the outputs of the ones before it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    operations: tuple[Operation, ...] = ()
    intermediate: tuple[str, ...] = Field(
        (), description="outputs used by later operations only, not model inputs (dropped from a prepared frame)"
    )

    @property
    def outputs(self) -> tuple[str, ...]:
        return tuple(op.output for op in self.operations)

    @property
    def raw_fields(self) -> tuple[str, ...]:
        """Fields read that no operation produces (what an application must carry)."""
        made: set[str] = set()
        out: list[str] = []
        for op in self.operations:
            names = list(op.reads())
            if isinstance(op, CreditAgeMonths):
                names.append(op.application_date)
            if isinstance(op, Instalment) and op.given:
                names.append(op.given)
            out += [n for n in names if n not in made and n not in out]
            made.add(op.output)
        return tuple(out)


class InputField(BaseModel):
    """One field an application may carry: its type, and the value rule it must keep."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    type: Literal["number", "category", "date"]
    min: float | None = None
    max: float | None = None
    training_min: float | None = Field(None, description="smallest value seen in training (numbers)")
    training_max: float | None = Field(None, description="largest value seen in training (numbers)")


class InputSpec(BaseModel):
    """The applicant schema of a model: its fields and the derivation of its model inputs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fields: tuple[InputField, ...] = ()
    derivation: Derivation = Derivation()
    ignored: dict[str, str] = Field(
        default_factory=dict,
        description="fields an application may carry that the model deliberately does not read, with why",
    )
    _known: frozenset[str] = PrivateAttr(default=frozenset())
    _by_name: dict[str, InputField] = PrivateAttr(default_factory=dict)
    _numbers: tuple[str, ...] = PrivateAttr(default=())
    _has_rules: bool = PrivateAttr(default=False)

    def model_post_init(self, context: Any, /) -> None:
        self._known = (
            frozenset(self.names)
            | frozenset(self.derivation.outputs)
            | frozenset(self.ignored)
            | {"applicant_id", *APPLICATION_GROUPS}
        )
        self._by_name = {f.name: f for f in self.fields}
        self._numbers = tuple(f.name for f in self.fields if f.type == "number")
        self._has_rules = any(f.min is not None or f.max is not None for f in self.fields)

    def field(self, name: str) -> InputField | None:
        return self._by_name.get(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    @property
    def numbers(self) -> tuple[str, ...]:
        """The number fields (every one must keep the magnitude rule)."""
        return self._numbers

    @property
    def has_rules(self) -> bool:
        """Whether any field has a value rule (min or max) to check."""
        return self._has_rules

    @property
    def derived(self) -> tuple[str, ...]:
        """Fields the derivation computes (an application need not send them)."""
        outs = set(self.derivation.outputs)
        return tuple(f.name for f in self.fields if f.name in outs)

    @property
    def requested(self) -> tuple[str, ...]:
        """Fields a person is asked for: every field but the derived ones."""
        derived = set(self.derived)
        return tuple(f.name for f in self.fields if f.name not in derived)

    def check_names(self, names: Sequence[str], *, where: str = "applicant") -> None:
        """Refuse a field this model does not know (naming it and what is accepted)."""
        known = self._known
        unknown = [n for n in names if n not in known and not n.startswith(("finances.", "loan."))]
        if unknown:
            raise SchemaError(
                f"{where}.{unknown[0]}: unknown field (the model reads {sorted(self.names)}, "
                f"plus finances, loan and applicant_id); got {len(unknown)} unknown: {unknown}",
                column=unknown[0],
            )


# ---------------------------------------------------------------------------- columns
def _refuse(name: str, rule: str, values: np.ndarray, bad: np.ndarray, source: str | None, show: Any = None) -> None:
    rows = np.flatnonzero(bad)
    first = values[rows[0]] if show is None else show[rows[0]]
    first = first.item() if isinstance(first, np.generic) else first  # 1e+307, not np.float64(1e+307)
    where = f" in {rows.size} rows (first: row {int(rows[0])})" if values.size > 1 else ""
    raise DataError(f"{name} {rule}; got {first!r}{where}", source=source, column=name, rule=rule)


def _number(cols: Mapping[str, Any], name: str, n: int, source: str | None) -> np.ndarray:
    v = cols.get(name)
    if v is None:
        return np.full(n, np.nan)
    arr = np.asarray(v)
    if arr.dtype.kind in "fiub":
        return arr.astype(float, copy=False)
    out = pd.to_numeric(pd.Series(arr, dtype=object), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    present = ~pd.isna(pd.Series(arr, dtype=object)).to_numpy()
    _check(name, "must be a number", arr, present & np.isnan(out), source)
    return out


def _check(name: str, rule: str, values: np.ndarray, bad: np.ndarray, source: str | None) -> None:
    if bad.any():
        _refuse(name, rule, values, bad, source)


def _dates(cols: Mapping[str, Any], name: str, n: int, source: str | None) -> np.ndarray:
    v = cols.get(name)
    if v is None:
        return np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    try:
        return as_dates(v, name)
    except DataError as exc:
        raise DataError(
            str(exc).removeprefix(f"{exc.source}: ") if exc.source else str(exc),
            source=source,
            column=name,
            rule=exc.rule,
        ) from exc


def _pick(*layers: tuple[np.ndarray | None, Any]) -> np.ndarray:
    """Row by row, the first layer whose mask holds (NaN where none does)."""
    out: np.ndarray | None = None
    for values, mask in reversed(layers):  # an earlier layer overwrites a later one where it holds
        if values is None:  # a route that no row can take (its field absent, no finances)
            continue
        if out is None:
            out = np.where(mask, values, np.nan)
        else:
            out = np.where(mask, values, out)
    assert out is not None, "the raw-field route is always a layer"  # internal: callers pass it
    return out


def _finances(cols: Mapping[str, Any], n: int, source: str | None) -> dict[str, Any]:
    if not any(k in cols for k in ("finances.gross_income", *_LOAN)):  # no application carries finances
        return {"has": None, "gross": None, "deductions": None, "obligations": None, "instalment": None}
    f = {k: _number(cols, k, n, source) for k in _FIN + _LOAN}
    has = ~np.isnan(f["finances.gross_income"])
    for k in _LOAN:
        has &= ~np.isnan(f[k])
    net, ded = f["finances.net_income"], f["finances.deductions"]
    gross = f["finances.gross_income"]
    deductions = np.where(~np.isnan(net), gross - net, np.where(~np.isnan(ded), ded, 0.0))
    obligations = np.where(np.isnan(f["finances.existing_obligations"]), 0.0, f["finances.existing_obligations"])
    instal = np.full(n, np.nan)
    for i in np.flatnonzero(has):  # decisions: the affordability check's own scalar formula, to the bit
        instal[i] = instalment_one(
            float(f["loan.amount"][i]), float(f["loan.annual_rate"][i]), float(f["loan.term_months"][i])
        )
    return {"has": has, "gross": gross, "deductions": deductions, "obligations": obligations, "instalment": instal}


def _rule_text(f: InputField) -> str:
    if f.max is None:
        return f"must be >= {f.min:g}"
    if f.min is None:
        return f"must be <= {f.max:g}"
    return f"must be in [{f.min:g}, {f.max:g}]"


def _check_numbers(cols: Mapping[str, Any], n: int, spec: InputSpec, source: str | None) -> None:
    """Every number given must be finite and within the magnitude rule, then within its field's
    own [min, max]; the first field (in the spec's order) that breaks one is refused, by name.
    All fields are checked at once (one array of fields x rows: one applicant pays a handful of
    numpy calls, not a few per field)."""
    fields = [f for f in spec.fields if f.type == "number" and f.name in cols]
    if not fields:
        return
    x = np.vstack([_number(cols, f.name, n, source) for f in fields])
    lo = np.array([-np.inf if f.min is None else f.min for f in fields])[:, None]
    hi = np.array([np.inf if f.max is None else f.max for f in fields])[:, None]
    with np.errstate(invalid="ignore"):
        huge = ~np.isnan(x) & ~(np.abs(x) <= MAX_MAGNITUDE)
        bad = (x < lo) | (x > hi)
    flagged = huge.any(axis=1) | bad.any(axis=1)
    if not flagged.any():
        return
    i = int(np.flatnonzero(flagged)[0])
    if huge[i].any():
        _refuse(fields[i].name, MAGNITUDE_RULE, x[i], huge[i], source)
    _refuse(fields[i].name, _rule_text(fields[i]), x[i], bad[i], source)


def derive_columns(
    cols: Mapping[str, Any], n: int, spec: InputSpec, *, decision_date: Any = None, source: str | None = None
) -> dict[str, np.ndarray]:
    """The outputs of ``spec.derivation`` for ``n`` rows given as columns (name -> array).

    ``cols`` holds the fields as given (dotted ``finances.*`` / ``loan.*`` for the application's
    finances); numbers are checked against their field's rule first. ``decision_date`` (a date or
    one per row; default today) dates an application without its application-date field.
    Returns every operation's output as a float array (intermediate ones included).
    """
    _check_numbers(cols, n, spec, source)
    ops = spec.derivation.operations
    if not ops:
        return {}
    fin = _finances(cols, n, source)
    known: dict[str, np.ndarray] = {}

    def num(name: str) -> np.ndarray:
        return known[name] if name in known else _number(cols, name, n, source)

    def given(name: str | None) -> np.ndarray | None:
        return _number(cols, name, n, source) if name is not None and name in cols else None

    everywhere = np.ones(n, dtype=bool)

    def present(*arrays: np.ndarray) -> np.ndarray:
        ok = ~np.isnan(arrays[0])
        for a in arrays[1:]:
            ok &= ~np.isnan(a)
        return ok

    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is refused below, by name
        for op in ops:
            if isinstance(op, CreditAgeMonths):
                first = _dates(cols, op.earliest_credit_line, n, source)
                app = _dates(cols, op.application_date, n, source)
                if np.isnat(app).any():
                    when = _dt.datetime.now(_dt.UTC).date() if decision_date is None else decision_date
                    app = np.where(np.isnat(app), np.broadcast_to(as_dates(when, "decision_date"), (n,)), app)
                age = np.asarray(credit_age_months(app, first), dtype=float)
                after = age < 0
                if after.any():
                    _refuse(
                        op.earliest_credit_line,
                        f"must not be after the application date ({op.application_date})",
                        first.astype(str),
                        after,
                        source,
                    )
                value = _pick((age, ~np.isnan(age)), (given(op.output), everywhere))
            elif isinstance(op, Instalment):
                a, r, t = num(op.amount), num(op.annual_rate), num(op.term_months)
                raw = np.full(n, np.nan)
                ok = present(a, r, t)
                if ok.any():
                    raw[ok] = emi(a[ok], r[ok], t[ok])
                have = given(op.given)
                value = _pick(
                    (fin["instalment"], fin["has"]),
                    (have, None if have is None else ~np.isnan(have)),
                    (raw, ok),
                    (given(op.output), everywhere),
                )
            elif isinstance(op, MonthlyIncome):
                annual = num(op.annual_income)
                value = _pick(
                    (fin["gross"], fin["has"]),
                    (annual / 12.0, ~np.isnan(annual)),
                    (given(op.output), everywhere),
                )
            elif isinstance(op, ExistingObligations):
                dti, income = num(op.debt_to_income_percent), num(op.monthly_income)
                value = _pick(
                    (fin["obligations"], fin["has"]),
                    (dti / 100.0 * income, present(dti, income)),
                    (given(op.output), everywhere),
                )
            elif isinstance(op, NetTakeHome):
                inc, obl, ins = num(op.monthly_income), num(op.existing_obligations), num(op.instalment)
                deductions = 0.0 if fin["has"] is None else np.where(fin["has"], fin["deductions"], 0.0)
                nth = np.asarray(net_take_home(inc - deductions, obl, ins), dtype=float)
                value = _pick((nth, present(inc, obl, ins)), (given(op.output), everywhere))
            elif isinstance(op, NthShare):
                nth, inc = num(op.nth), num(op.monthly_income)
                share = np.asarray(nth_share_of_income(nth, inc), dtype=float)
                value = _pick((share, present(nth, inc)), (given(op.output), everywhere))
            else:  # pragma: no cover - the discriminated union admits no other operation
                raise TypeError(f"unknown operation {op!r}")
            if np.isinf(value).any():
                _refuse(
                    op.output, f"is too large to compute (from {', '.join(op.reads())})", value, np.isinf(value), source
                )
            known[op.output] = value
    return known


def flatten_application(applicant: Mapping[str, Any]) -> dict[str, Any]:
    """An application dict with its ``finances`` and ``loan`` groups as dotted keys."""
    out = {}
    for k, v in applicant.items():
        if k in APPLICATION_GROUPS and isinstance(v, Mapping):
            for kk, vv in v.items():
                out[f"{k}.{kk}"] = vv
        elif k in APPLICATION_GROUPS and v is None:
            continue
        else:
            out[k] = v
    return out


def derive_one(applicant: Mapping[str, Any], spec: InputSpec, *, decision_date: Any = None) -> dict[str, Any]:
    """The application with its derived fields filled (one row through :func:`derive_columns`)."""
    if not spec.derivation.operations and not spec.has_rules:
        # no derivation, no bounds: only the magnitude rule of derive_columns, checked on the values
        # as given (the same rule and message; tests/test_derivation.py runs both paths)
        for name in spec.numbers:
            v = applicant.get(name)
            if isinstance(v, (int, float)) and not isinstance(v, bool) and not abs(v) <= MAX_MAGNITUDE and v == v:
                raise DataError(f"{name} {MAGNITUDE_RULE}; got {v!r}", column=name, rule=MAGNITUDE_RULE)
        return dict(applicant)
    cols: dict[str, np.ndarray] = {}
    for k, v in flatten_application(applicant).items():
        if v is None or (isinstance(v, float) and v != v):
            continue  # absent and null are both missing
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            cols[k] = np.array([v], dtype=float)
        else:
            cols[k] = np.array([v], dtype=object)
    derived = derive_columns(cols, 1, spec, decision_date=decision_date, source=None)
    out = dict(applicant)
    for k, v in derived.items():
        x = float(v[0])
        out[k] = None if math.isnan(x) else x
    return out


def derive_frame(
    frame: pd.DataFrame, spec: InputSpec, *, decision_date: Any = None, source: str | None = None
) -> pd.DataFrame:
    """``frame`` with the derivation's outputs added (or replaced); other columns kept as they are.

    ``decision_date`` may be a column name of ``frame`` (e.g. an audit store's ``created_at``)."""
    if not spec.derivation.operations and not spec.numbers:
        return frame
    if isinstance(decision_date, str) and decision_date in frame.columns:
        decision_date = pd.to_datetime(frame[decision_date], utc=True).dt.tz_localize(None).dt.normalize().to_numpy()
    # only what derive_columns reads (numbers for their rules, the derivation's fields, the
    # application's finances): text columns are never converted (costly for Arrow-backed strings)
    d = spec.derivation
    names = set(spec.numbers) | set(d.raw_fields) | set(d.outputs)
    names |= {c for c in map(str, frame.columns) if c.startswith(("finances.", "loan."))}
    cols = {str(c): frame[c].to_numpy() for c in frame.columns if str(c) in names}
    derived = derive_columns(cols, len(frame), spec, decision_date=decision_date, source=source)
    if not derived:
        return frame
    out = frame.copy()
    for k, v in derived.items():
        out[k] = v
    return out


def input_spec_for(
    kinds: Mapping[str, str],
    *,
    derivation: Derivation | None = None,
    raw_types: Mapping[str, str] | None = None,
    bounds: Mapping[str, tuple[float | None, float | None]] | None = None,
    X: pd.DataFrame | None = None,
    ignored: Mapping[str, str] | None = None,
) -> InputSpec:
    """The applicant schema of a model with inputs ``kinds`` (name -> numeric/categorical).

    ``raw_types`` adds the raw fields the derivation reads (name -> number/category/date);
    ``bounds`` are value rules (min, max) by field; ``X`` (the training rows) gives each numeric
    input's training range, against which new values are reported as out of range.
    """
    derivation = derivation or Derivation()
    bounds = bounds or {}
    fields: list[InputField] = []
    for name, kind in kinds.items():
        lo, hi = bounds.get(name, (None, None))
        tmin = tmax = None
        if kind == "numeric" and X is not None and name in X.columns:
            x = pd.to_numeric(X[name], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            if np.isfinite(x).any():
                tmin, tmax = float(np.nanmin(x)), float(np.nanmax(x))
        fields.append(
            InputField(
                name=name,
                type="number" if kind == "numeric" else "category",
                min=lo,
                max=hi,
                training_min=tmin,
                training_max=tmax,
            )
        )
    for name, typ in (raw_types or {}).items():
        if name not in kinds:
            lo, hi = bounds.get(name, (None, None)) if typ == "number" else (None, None)
            fields.append(InputField(name=name, type=typ, min=lo, max=hi))
    return InputSpec(fields=tuple(fields), derivation=derivation, ignored=dict(ignored or {}))


def application_frame(spec: InputSpec, applicants: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Applications (JSON objects) as one frame: a column for every field of ``spec`` (numbers
    float with NaN for missing, categories and dates as objects with None) and ``finances.*`` /
    ``loan.*`` columns; absent means missing, as for one applicant."""
    flat = [flatten_application(a) for a in applicants]
    cols: dict[str, Any] = {}
    for f in spec.fields:
        values = [a.get(f.name) for a in flat]
        if f.type == "number":
            cols[f.name] = np.array([np.nan if v is None else v for v in values], dtype=float)
        else:
            cols[f.name] = np.array(values, dtype=object)
    for name in _FIN + _LOAN:
        if any(name in a for a in flat):
            cols[name] = np.array([np.nan if a.get(name) is None else a[name] for a in flat], dtype=float)
    return pd.DataFrame(cols, index=pd.RangeIndex(len(flat)))

"""Affordability: net take-home (NTH) after the new loan, a policy check separate from the PD model.

All money amounts are **monthly** and in one currency. Rates are fractions (0.12 = 12% a year).

- ``deductions``: statutory deductions (tax, social security). Taken, in this order, from the
  applicant's ``net_income`` (deductions = gross - net), from the applicant's own ``deductions``,
  or from the rule's flat ``deduction_rate`` times gross income.
- ``new_instalment``: standard amortisation ``P r / (1 - (1 + r)^-n)`` with ``r`` the monthly rate;
  ``P / n`` when the rate is zero.
- ``nth = net_income - existing_obligations - new_instalment`` (what the applicant takes home).
- ``nth_share = nth / gross income``; ``foir = (existing_obligations + new_instalment) / income``
  where the FOIR base is gross or net income (rule ``foir_base``).

Rule forms (each optional, all configured per product in :class:`AffordabilityRule`):
``nth_share`` (NTH at least x% of gross income, a lower x with an employer undertaking),
``foir`` (all instalments at most y% of income) and ``floor`` (NTH at least a minimum amount,
plus an amount per dependant).

Every rule's slack falls one-for-one with the new instalment, so the ``margin`` (the smallest
slack, in money per month) is also how much the instalment could grow (or must shrink) to pass.
The counter-offer uses it: the largest amount at the requested term and the shortest term for the
requested amount whose instalment fits.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import pydantic
from pydantic import BaseModel, ConfigDict, Field, model_validator

from lendscore.data.derive import annuity_factor, instalment_one
from lendscore.errors import PolicyError

__all__ = [
    "AffordabilityResult",
    "AffordabilityRule",
    "CounterOffer",
    "Finances",
    "LoanRequest",
    "assess_affordability",
    "complete_finances",
    "instalment",
    "max_principal",
]

MAX_ANNUAL_RATE = 1.0
"""Largest annual rate accepted (100% a year); above this a request is refused as impossible."""
MAX_TERM_MONTHS = 600
MAX_AMOUNT = 1e12  # larger money amounts are data errors, and would overflow the search

_M = TypeVar("_M", bound=BaseModel)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class LoanRequest(_Strict):
    """The loan asked for: amount, annual interest rate (fraction) and term in months."""

    amount: float = Field(gt=0, le=MAX_AMOUNT, description="principal requested")
    annual_rate: float = Field(ge=0, le=MAX_ANNUAL_RATE, description="annual rate as a fraction")
    term_months: int = Field(ge=1, le=MAX_TERM_MONTHS, description="term in months")


class Finances(_Strict):
    """The applicant's monthly finances. Obligations larger than income are allowed (they fail)."""

    gross_income: float = Field(gt=0, le=MAX_AMOUNT, description="gross monthly income")
    net_income: float | None = Field(default=None, ge=0, le=MAX_AMOUNT, description="net monthly income, if known")
    deductions: float | None = Field(default=None, ge=0, le=MAX_AMOUNT, description="statutory deductions, monthly")
    existing_obligations: float = Field(default=0.0, ge=0, le=MAX_AMOUNT, description="existing monthly instalments")
    dependants: int = Field(default=0, ge=0, le=30)
    employer_undertaking: bool = False

    @model_validator(mode="after")
    def _net_not_above_gross(self) -> Finances:
        if self.net_income is not None and self.net_income > self.gross_income:
            raise ValueError(
                f"net_income must be <= gross_income; got net_income={self.net_income} "
                f"> gross_income={self.gross_income}"
            )
        if self.deductions is not None and self.deductions > self.gross_income:
            raise ValueError(
                f"deductions must be <= gross_income; got deductions={self.deductions} "
                f"> gross_income={self.gross_income}"
            )
        return self


class AffordabilityRule(_Strict):
    """One product's affordability rule. Unset thresholds are not checked."""

    min_nth_share: float | None = Field(default=None, ge=0, le=1)
    min_nth_share_with_undertaking: float | None = Field(default=None, ge=0, le=1)
    max_foir: float | None = Field(default=None, gt=0, le=1)
    foir_base: Literal["gross", "net"] = "gross"
    min_nth: float = Field(default=0.0, ge=0)
    min_nth_per_dependant: float = Field(default=0.0, ge=0)
    deduction_rate: float = Field(default=0.0, ge=0, lt=1)
    amount_step: float = Field(default=1.0, gt=0, description="counter-offer amounts are multiples")


@dataclass(frozen=True)
class CounterOffer:
    """The largest amount at the requested term and the shortest term for the requested amount."""

    max_amount: float
    min_term: int | None


@dataclass(frozen=True)
class AffordabilityResult:
    """Every number the affordability check used, the rules that failed and a counter-offer."""

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
    failed_rules: tuple[str, ...]
    margin: float
    counter_offer: CounterOffer

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``failed_rules`` as a list), field by field: every decision is
        serialised through it, and ``dataclasses.asdict``'s recursive deep copy cost 13 us of it."""
        return {**vars(self), "failed_rules": list(self.failed_rules), "counter_offer": dict(vars(self.counter_offer))}


def complete_finances(finances: Mapping[str, Any] | None, deduction_rate: float) -> dict[str, Any] | None:
    """The finances with ``deductions`` filled from the rule's ``deduction_rate`` when the applicant
    gave neither ``net_income`` nor ``deductions`` (as :func:`assess_affordability` estimates
    them). A decision completes the finances before scoring, so the NTH the model reads is the NTH
    the decision shows, and the stored application re-scores the same anywhere."""
    if finances is None:
        return None
    out = dict(finances)
    gross = out.get("gross_income")
    if (
        out.get("net_income") is None
        and out.get("deductions") is None
        and deduction_rate
        and isinstance(gross, (int, float))
        and not isinstance(gross, bool)
    ):
        out["deductions"] = deduction_rate * gross
    return out


def validate_model(model: type[_M], data: _M | Mapping[str, Any], what: str) -> _M:
    """Build ``model`` from ``data``; a pydantic error becomes a PolicyError naming field and rule."""
    if isinstance(data, model):
        return data
    try:
        return model.model_validate(dict(data))
    except pydantic.ValidationError as exc:
        raise PolicyError(f"{what}: {format_pydantic_errors(exc)}") from exc


def format_pydantic_errors(exc: pydantic.ValidationError) -> str:
    """One line per error: ``field: rule (got value)``."""
    parts = []
    for err in exc.errors(include_url=False):
        field = ".".join(str(p) for p in err["loc"]) or "(record)"
        msg = err["msg"].removeprefix("Value error, ")
        value = err.get("input")
        got = "" if isinstance(value, Mapping) else f" (got {value!r})"
        parts.append(f"{field}: {msg}{got}")
    return "; ".join(parts)


def instalment(amount: float, annual_rate: float, term_months: int) -> float:
    """Monthly instalment of a fully amortising loan (``amount / term`` at a zero rate); the one
    scalar definition, :func:`lendscore.data.derive.instalment_one`."""
    if term_months < 1:
        raise PolicyError(f"term_months must be >= 1; got {term_months}")
    return instalment_one(amount, annual_rate, term_months)


def max_principal(monthly_instalment: float, annual_rate: float, term_months: int) -> float:
    """The principal that a given monthly instalment repays over ``term_months`` (0 if <= 0)."""
    if monthly_instalment <= 0:
        return 0.0
    r = annual_rate / 12.0
    if r == 0.0:
        return monthly_instalment * term_months
    return monthly_instalment * annuity_factor(r, term_months) / r


def _evaluate(fin: Finances, amount: float, rate: float, term: int, rule: AffordabilityRule) -> dict[str, Any]:
    income = fin.gross_income
    if fin.net_income is not None:
        deductions = income - fin.net_income
    elif fin.deductions is not None:
        deductions = fin.deductions
    else:
        deductions = rule.deduction_rate * income
    net = income - deductions
    new = instalment(amount, rate, term)
    nth = net - fin.existing_obligations - new
    base = income if rule.foir_base == "gross" else net
    floor = rule.min_nth + rule.min_nth_per_dependant * fin.dependants
    slack: dict[str, float] = {"floor": nth - floor}
    share = rule.min_nth_share
    if fin.employer_undertaking and rule.min_nth_share_with_undertaking is not None:
        share = rule.min_nth_share_with_undertaking
    if share is not None:
        slack["nth_share"] = nth - share * income
    if rule.max_foir is not None:
        slack["foir"] = rule.max_foir * base - (fin.existing_obligations + new)
    return {
        "income": income,
        "deductions": deductions,
        "net_income": net,
        "existing_obligations": fin.existing_obligations,
        "new_instalment": new,
        "nth": nth,
        "nth_share": nth / income,
        "foir": (fin.existing_obligations + new) / base if base > 0 else math.inf,
        "floor": floor,
        "failed_rules": tuple(k for k in ("nth_share", "foir", "floor") if k in slack and slack[k] < 0),
        "margin": min(slack.values()),
    }


def _min_term_guess(amount: float, rate: float, room: float) -> int:
    """Smallest term whose instalment fits in ``room`` (closed form; checked by the caller)."""
    r = rate / 12.0
    if r == 0.0:
        return math.ceil(amount / room)
    x = r * amount / room
    if x >= 1.0:  # the interest alone exceeds the room: no term is long enough
        return MAX_TERM_MONTHS + 1
    return math.ceil(-math.log1p(-x) / math.log1p(r))


def _counter_offer(fin: Finances, loan: LoanRequest, rule: AffordabilityRule, margin: float) -> CounterOffer:
    """Largest amount (at the requested term) and shortest term (for the requested amount) that pass.

    Every rule is a bound on the new instalment, so both have closed forms from the room left for
    the instalment (the requested one plus the margin); the closed forms are then checked against
    the rules themselves a step either side, which absorbs rounding at the edge.
    """

    def passes(amount: float, term: int) -> bool:
        return not _evaluate(fin, amount, loan.annual_rate, term, rule)["failed_rules"]

    rate, term = loan.annual_rate, loan.term_months
    room = instalment(loan.amount, rate, term) + margin
    step = rule.amount_step
    best = 0.0
    if room > 0:
        best = math.floor(max_principal(room, rate, term) / step) * step
        for _ in range(3):  # rounding at the edge: a step or two at most
            if best <= 0 or passes(best, term):
                break
            best -= step
        for _ in range(3):
            if best + step > best and passes(best + step, term):
                best += step
            else:
                break
    if room <= 0 or not passes(loan.amount, MAX_TERM_MONTHS):
        return CounterOffer(max_amount=max(best, 0.0), min_term=None)
    # Instalments fall as the term grows (at any rate >= 0): start from the closed form, then
    # bisect within a few months of it if rounding put it on the wrong side.
    guess = min(max(_min_term_guess(loan.amount, rate, room), 1), MAX_TERM_MONTHS)
    if passes(loan.amount, guess) and (guess == 1 or not passes(loan.amount, guess - 1)):
        return CounterOffer(max_amount=max(best, 0.0), min_term=guess)  # the usual case
    lo, hi = max(guess - 2, 1), min(guess + 2, MAX_TERM_MONTHS)
    if passes(loan.amount, lo):
        lo = 1
    if not passes(loan.amount, hi):
        hi = MAX_TERM_MONTHS
    while lo < hi:
        mid = (lo + hi) // 2
        if passes(loan.amount, mid):
            hi = mid
        else:
            lo = mid + 1
    return CounterOffer(max_amount=max(best, 0.0), min_term=lo)


def assess_affordability(
    finances: Finances | Mapping[str, Any],
    loan: LoanRequest | Mapping[str, Any],
    rule: AffordabilityRule | Mapping[str, Any],
) -> AffordabilityResult:
    """Check one request against one product's affordability rule.

    Raises :class:`~lendscore.errors.PolicyError` naming the field, the rule and the value when the
    input is impossible (negative income, term 0, a rate above 100% a year, unknown fields).
    """
    problems: list[str] = []

    def build(model: type[_M], data: _M | Mapping[str, Any], what: str) -> _M | None:
        try:
            return validate_model(model, data, what)
        except PolicyError as exc:  # every part is checked, so the message names every problem
            problems.append(str(exc))
            return None

    fin = build(Finances, finances, "finances")
    req = build(LoanRequest, loan, "loan")
    rul = build(AffordabilityRule, rule, "affordability rule")
    if fin is None or req is None or rul is None:
        raise PolicyError("; ".join(problems))
    ev = _evaluate(fin, req.amount, req.annual_rate, req.term_months, rul)
    offer = _counter_offer(fin, req, rul, ev["margin"])
    return AffordabilityResult(**ev, passed=not ev["failed_rules"], counter_offer=offer)

"""Credit policy: a strictly validated TOML file (bands, knock-outs, affordability, reasons).

The policy takes a score (or PD) and the applicant's finances, never a model object, so a policy
change needs no refit. Loading refuses, naming the TOML line: unknown keys, wrong types, bands that
overlap, leave a gap or get worse as the score rises, and reason codes missing from the catalogue.

Bands are half-open intervals ``[min, max)`` listed in ascending order; the last band also holds
its ``max``. With ``basis = "score"`` they must tile ``[first min, last max]`` (use ``-inf``/``inf``
for open ends; a score outside the range is an error); with ``basis = "pd"`` they must tile [0, 1].
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

from lendscore.decision._toml import line_of
from lendscore.decision.affordability import AffordabilityRule
from lendscore.decision.reasons import Catalogue, load_catalogue
from lendscore.errors import PolicyError

__all__ = [
    "AffordabilityPolicy",
    "Band",
    "Condition",
    "CutoffRecord",
    "KnockOut",
    "Policy",
    "ReasonsConfig",
    "line_of",
    "load_policy",
    "parse_policy",
    "OUTCOME_RANK",
]

OUTCOME_RANK = {"approve": 0, "refer": 1, "decline": 2}
"""Severity of an outcome: a higher rank is worse."""
Stage = Literal["knockouts", "affordability", "bands"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Condition(_Strict):
    """``applicant[field] <op> value``; ``field`` may be dotted (``finances.gross_income``)."""

    field: str = Field(min_length=1)
    op: Literal["<", "<=", ">", ">=", "==", "!=", "in", "not_in"]
    value: bool | int | float | str | list[bool | int | float | str]


class KnockOut(_Strict):
    """A rule that declines or refers whatever the score when all its conditions hold."""

    name: str = Field(min_length=1)
    when: list[Condition] = Field(min_length=1)
    outcome: Literal["decline", "refer"] = "decline"
    reason: str
    if_missing: Literal["pass", "refer", "decline"] = "refer"


class Band(_Strict):
    """Outcome for scores (or PDs) in ``[min, max)``; ``reason`` is an optional policy code."""

    outcome: Literal["approve", "refer", "decline"]
    min: float
    max: float
    reason: str | None = None


class _AffordabilityReasons(_Strict):
    nth_share: str = "P10"
    foir: str = "P11"
    floor: str = "P12"
    missing: str = "P13"


class AffordabilityPolicy(AffordabilityRule):
    """The product's affordability rule plus what a failure or missing data leads to."""

    outcome_on_fail: Literal["decline", "refer"] = "decline"
    if_missing: Literal["pass", "refer", "decline"] = "refer"
    reason_codes: _AffordabilityReasons = _AffordabilityReasons()

    _rule: AffordabilityRule | None = PrivateAttr(default=None)
    _codes: dict[str, str] | None = PrivateAttr(default=None)

    def rule(self) -> AffordabilityRule:
        """The bare :class:`AffordabilityRule` (without outcomes and codes), built once."""
        if self._rule is None:
            self._rule = AffordabilityRule(**{k: getattr(self, k) for k in AffordabilityRule.model_fields})
        return self._rule

    def codes(self) -> dict[str, str]:
        """Reason code of each failed rule, built once (do not modify)."""
        if self._codes is None:
            self._codes = self.reason_codes.model_dump()
        return self._codes


class ReasonsConfig(_Strict):
    """How principal reasons are chosen: reference points and how many (Regulation B: <= 4)."""

    reference: Literal["max_points", "cutoff_average"] = "max_points"
    max_reasons: int = Field(default=4, ge=1, le=4)
    review_reason: str = "P20"
    cutoff_points: dict[str, float] | None = None


class CutoffRecord(_Strict):
    """How the approve cut-off was chosen (written by ``lendscore cutoff``)."""

    score: float
    method: str
    approval_rate: float | None = None
    bad_rate: float | None = None
    profit: float | None = None


class Policy(_Strict):
    """A credit policy: bands, knock-outs, affordability, reasons, and the order rules apply in."""

    version: str = Field(min_length=1)
    product: str = "consumer_loan"
    basis: Literal["score", "pd"] = "score"
    order: list[Stage] = ["knockouts", "affordability", "bands"]
    stop_on_decline: bool = True
    bands: list[Band] = Field(min_length=1)
    knockouts: list[KnockOut] = []
    affordability: AffordabilityPolicy | None = None
    reasons: ReasonsConfig = ReasonsConfig()
    cutoff: CutoffRecord | None = None

    @field_validator("order")
    @classmethod
    def _order_unique(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError(f"order must name each stage at most once; got {v}")
        return v

    def band_for(self, value: float) -> Band:
        """The band holding ``value`` (a score or a PD, per ``basis``)."""
        if math.isnan(value):
            raise PolicyError(f"{self.basis} is NaN; cannot place it in a band")
        for band in self.bands:
            if band.min <= value < band.max:
                return band
        last = self.bands[-1]
        if value == last.max:
            return last
        raise PolicyError(f"{self.basis} {value} is outside the policy range [{self.bands[0].min}, {last.max}]")


def _fail(name: str, source: str, loc: Sequence[Any], message: str) -> PolicyError:
    where = ".".join(str(p) for p in loc)
    return PolicyError(f"{name}, line {line_of(source, loc)}: {where}: {message}")


def _check_bands(policy: Policy, name: str, source: str) -> None:
    bands = policy.bands
    for i, b in enumerate(bands):
        if not b.min < b.max:
            raise _fail(name, source, ("bands", i, "max"), f"band max must be > min; got min={b.min}, max={b.max}")
    for i in range(1, len(bands)):
        prev, b = bands[i - 1], bands[i]
        if b.min < prev.max:
            raise _fail(
                name,
                source,
                ("bands", i, "min"),
                f"bands overlap: min={b.min} is below the previous band's max={prev.max}",
            )
        if b.min > prev.max:
            raise _fail(
                name,
                source,
                ("bands", i, "min"),
                f"gap between bands: min={b.min} but the previous band ends at max={prev.max}",
            )
        worse = OUTCOME_RANK[b.outcome] > OUTCOME_RANK[prev.outcome]
        better = OUTCOME_RANK[b.outcome] < OUTCOME_RANK[prev.outcome]
        if (policy.basis == "score" and worse) or (policy.basis == "pd" and better):
            direction = "score rises" if policy.basis == "score" else "PD falls"
            raise _fail(
                name,
                source,
                ("bands", i, "outcome"),
                f"outcome must not get worse as the {direction}; got {prev.outcome!r} then {b.outcome!r}",
            )
    if policy.basis == "pd" and (bands[0].min != 0.0 or bands[-1].max != 1.0):
        raise _fail(name, source, ("bands",), f"PD bands must tile [0, 1]; got [{bands[0].min}, {bands[-1].max}]")


def _check_reasons(policy: Policy, catalogue: Catalogue, name: str, source: str) -> None:
    refs: list[tuple[tuple[Any, ...], str]] = [(("reasons", "review_reason"), policy.reasons.review_reason)]
    refs += [(("knockouts", i, "reason"), k.reason) for i, k in enumerate(policy.knockouts)]
    refs += [(("bands", i, "reason"), b.reason) for i, b in enumerate(policy.bands) if b.reason]
    if policy.affordability is not None:
        for field, code in policy.affordability.reason_codes.model_dump().items():
            refs.append((("affordability", "reason_codes", field), code))
    for loc, code in refs:
        if code not in catalogue:
            raise _fail(
                name, source, loc, f"reason code {code!r} is not in the catalogue (version {catalogue.version})"
            )


def parse_policy(source: str, *, name: str = "policy", catalogue: Catalogue | None = None) -> Policy:
    """Validate policy TOML text; every error names ``name`` and the line of the offending key."""
    try:
        data = tomllib.loads(source)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{name}: not valid TOML: {exc}") from exc
    try:
        policy = Policy.model_validate(data)
    except pydantic.ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        value = err.get("input")
        got = "" if isinstance(value, dict) else f" (got {value!r})"
        raise _fail(name, source, err["loc"], err["msg"].removeprefix("Value error, ") + got) from exc
    _check_bands(policy, name, source)
    _check_reasons(policy, catalogue if catalogue is not None else load_catalogue(), name, source)
    if policy.reasons.reference == "cutoff_average" and not policy.reasons.cutoff_points:
        raise _fail(
            name, source, ("reasons", "reference"), "reference = 'cutoff_average' needs a [reasons.cutoff_points] table"
        )
    return policy


def load_policy(path: str | Path | None = None, *, catalogue: Catalogue | None = None) -> Policy:
    """Load a policy file (default: the bundled ``policy_default.toml``)."""
    if path is None:
        from importlib import resources

        text = resources.files("lendscore.decision").joinpath("_files/policy_default.toml").read_text("utf-8")
        return parse_policy(text, name="policy_default.toml (bundled)", catalogue=catalogue)
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"policy file {p}: cannot be read: {exc}") from exc
    return parse_policy(text, name=str(p), catalogue=catalogue)

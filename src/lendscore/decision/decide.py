"""Turn a score and the applicant's finances into a lending decision.

Stages run in ``policy.order`` (default: knock-outs, affordability, score bands). The outcome is
the worst stage outcome (DECLINE > REFER > APPROVE); with ``stop_on_decline`` evaluation stops at
the first declining stage. Reasons: policy codes of the stages that did not approve, in stage
order, then (when the score band did not approve) the principal reasons from the points; at most
``policy.reasons.max_reasons`` in all. An approved applicant gets no adverse reasons.

The applicant is a dict: knock-out fields are looked up by (dotted) name; the affordability check
reads ``applicant["finances"]`` and ``applicant["loan"]`` (dicts of
:class:`~lendscore.decision.affordability.Finances` and ``LoanRequest`` fields).
"""

from __future__ import annotations

import enum
import math
import operator
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lendscore.decision.affordability import AffordabilityResult, assess_affordability
from lendscore.decision.policy import OUTCOME_RANK, KnockOut, Policy
from lendscore.decision.reasons import Catalogue, ReasonCode, principal_reasons
from lendscore.errors import PolicyError

__all__ = ["Decision", "Outcome", "ScoredApplicant", "decide", "scored_from_details"]

_MISSING = object()
_OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq, "!=": operator.ne}


class Outcome(enum.StrEnum):
    """The lending decision."""

    APPROVE = "approve"
    REFER = "refer"
    DECLINE = "decline"

    @property
    def rank(self) -> int:
        """Severity: APPROVE 0 < REFER 1 < DECLINE 2."""
        return OUTCOME_RANK[self.value]


@dataclass(frozen=True)
class ScoredApplicant:
    """What the model says about one applicant (one row of ``score_details`` plus the model's info)."""

    pd: float
    score: float
    grade: str | None
    points: Mapping[str, float]
    model_version: str
    max_points: Mapping[str, float] | None = None


@dataclass(frozen=True)
class Decision:
    """A lending decision with everything needed to explain and audit it."""

    outcome: Outcome
    pd: float
    score: float
    grade: str | None
    affordability: AffordabilityResult | None
    reasons: tuple[ReasonCode, ...]
    policy_version: str
    model_version: str
    steps: tuple[tuple[str, str], ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: the decision as ``lendscore decide`` and the service answer it."""
        a = self.affordability
        return {
            "outcome": self.outcome.value,
            "pd": self.pd,
            "score": self.score,
            "grade": self.grade,
            "affordability": None if a is None else a.to_dict(),
            "reasons": [r.to_dict() for r in self.reasons],
            "policy_version": self.policy_version,
            "model_version": self.model_version,
            "steps": [{"stage": s, "outcome": o} for s, o in self.steps],
        }


def scored_from_details(
    details: Any, *, model_version: str, max_points: Mapping[str, float] | None = None
) -> list[ScoredApplicant]:
    """One :class:`ScoredApplicant` per row of a model's ``score_details`` frame."""
    cols = [c for c in details.columns if str(c).startswith("points_")]
    out = []
    for row in details.to_dict(orient="records"):
        grade = row.get("grade")
        out.append(
            ScoredApplicant(
                pd=float(row["pd"]),
                score=float(row["score"]),
                grade=None if grade is None or (isinstance(grade, float) and math.isnan(grade)) else str(grade),
                points={c.removeprefix("points_"): float(row[c]) for c in cols},
                model_version=model_version,
                max_points=max_points,
            )
        )
    return out


def _lookup(applicant: Mapping[str, Any], dotted: str) -> Any:
    value: Any = applicant
    for part in dotted.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return _MISSING
        value = value[part]
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return _MISSING
    return value


def _knockout_hits(ko: KnockOut, applicant: Mapping[str, Any]) -> bool | None:
    """True if every condition holds, False if one fails, None if a field is missing."""
    for cond in ko.when:
        value = _lookup(applicant, cond.field)
        if value is _MISSING:
            return None
        try:
            if cond.op in ("in", "not_in"):
                allowed = cond.value if isinstance(cond.value, list) else [cond.value]
                holds = (value in allowed) == (cond.op == "in")
            else:
                holds = bool(_OPS[cond.op](value, cond.value))
        except TypeError as exc:
            raise PolicyError(
                f"knock-out {ko.name!r}: field {cond.field!r} = {value!r} cannot be compared "
                f"with {cond.op} {cond.value!r}"
            ) from exc
        if not holds:
            return False
    return True


def _reference(scored: ScoredApplicant, policy: Policy) -> Mapping[str, float]:
    if policy.reasons.reference == "cutoff_average":
        return policy.reasons.cutoff_points or {}
    if scored.max_points is None:
        raise PolicyError("policy reasons.reference = 'max_points' needs the model's max_points")
    return scored.max_points


def decide(applicant: Mapping[str, Any], scored: ScoredApplicant, policy: Policy, catalogue: Catalogue) -> Decision:
    """Apply ``policy`` to one scored applicant.

    Raises :class:`~lendscore.errors.PolicyError` for impossible finances (naming field and rule).
    """
    steps: list[tuple[str, Outcome]] = []
    reasons: list[ReasonCode] = []
    afford: AffordabilityResult | None = None
    review = catalogue.get(policy.reasons.review_reason)

    def record(stage: str, outcome: Outcome, codes: list[ReasonCode]) -> None:
        steps.append((stage, outcome))
        if outcome is not Outcome.APPROVE:
            reasons.extend(codes)

    for stage in policy.order:
        if stage == "knockouts":
            for ko in policy.knockouts:
                hit = _knockout_hits(ko, applicant)
                if hit is None and ko.if_missing != "pass":
                    record(f"knockout:{ko.name}", Outcome(ko.if_missing), [review])
                elif hit:
                    record(f"knockout:{ko.name}", Outcome(ko.outcome), [catalogue.get(ko.reason)])
                if policy.stop_on_decline and steps and steps[-1][1] is Outcome.DECLINE:
                    break
            if not any(s.startswith("knockout") for s, _ in steps):
                record("knockouts", Outcome.APPROVE, [])
        elif stage == "affordability" and policy.affordability is not None:
            aff = policy.affordability
            fin, loan = _lookup(applicant, "finances"), _lookup(applicant, "loan")
            if fin is _MISSING or loan is _MISSING:
                if aff.if_missing != "pass":
                    record("affordability", Outcome(aff.if_missing), [catalogue.get(aff.reason_codes.missing)])
            else:
                afford = assess_affordability(fin, loan, aff.rule())
                rule_codes = aff.codes()
                outcome = Outcome.APPROVE if afford.passed else Outcome(aff.outcome_on_fail)
                record("affordability", outcome, [catalogue.get(rule_codes[r]) for r in afford.failed_rules])
        elif stage == "bands":
            band = policy.band_for(scored.score if policy.basis == "score" else scored.pd)
            outcome = Outcome(band.outcome)
            codes = [catalogue.get(band.reason)] if band.reason else []
            if outcome is not Outcome.APPROVE:
                codes += principal_reasons(
                    scored.points, _reference(scored, policy), catalogue, policy.reasons.max_reasons
                )
            record("bands", outcome, codes)
        if policy.stop_on_decline and any(o is Outcome.DECLINE for _, o in steps):
            break

    final = max((o for _, o in steps), key=lambda o: o.rank, default=Outcome.APPROVE)
    unique: list[ReasonCode] = []
    if final is not Outcome.APPROVE:
        for r in reasons:
            if all(u.code != r.code for u in unique):
                unique.append(r)
    return Decision(
        outcome=final,
        pd=float(scored.pd),
        score=float(scored.score),
        grade=scored.grade,
        affordability=afford,
        reasons=tuple(unique[: policy.reasons.max_reasons]),
        policy_version=policy.version,
        model_version=scored.model_version,
        steps=tuple((s, o.value) for s, o in steps),
    )

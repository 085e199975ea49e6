"""Scoring plus policy for the service: model and policy loaded once, one applicant at a time.

The single path uses ``model.predict_one`` (pure Python, no pandas); a batch calls it per row,
which for the scorecard is as fast as building a frame for a thousand rows. Two start-up
optimisations keep a decision well under a millisecond:

- the reason catalogue's characteristic -> code mapping (fnmatch patterns) is resolved once for
  the model's characteristics (:class:`MemoCatalogue`);
- the decision is serialised by :func:`decision_dict`, the same JSON shape as
  ``Decision.to_dict()`` without ``dataclasses.asdict``'s deep copies (a test checks equality).
"""
from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lendscore.decision import Catalogue, Decision, Policy, ReasonCode, ScoredApplicant, decide

__all__ = ["DecisionEngine", "MemoCatalogue", "decision_dict", "load_model_versioned"]


def load_model_versioned(path: Path) -> tuple[Any, str]:
    """The model and its version: metadata ``model_version`` if set, else file name + SHA-256 prefix."""
    import lendscore

    model = lendscore.load(path)
    version = (getattr(model, "metadata_", None) or {}).get("model_version")
    if not version:
        digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]
        version = f"{Path(path).name}#sha256:{digest}"
    return model, str(version)


@dataclass(frozen=True)
class MemoCatalogue(Catalogue):
    """A catalogue whose ``code_for`` answers known characteristics from a precomputed map."""

    memo: Mapping[str, ReasonCode] = field(default_factory=dict)

    @classmethod
    def of(cls, catalogue: Catalogue, characteristics: list[str]) -> MemoCatalogue:
        return cls(version=catalogue.version, codes=catalogue.codes, patterns=catalogue.patterns,
                   fallback=catalogue.fallback,
                   memo={c: catalogue.code_for(c) for c in characteristics})

    def code_for(self, characteristic: str) -> ReasonCode:
        hit = self.memo.get(characteristic)
        return hit if hit is not None else Catalogue.code_for(self, characteristic)


def _reason(r: ReasonCode) -> dict[str, Any]:
    out: dict[str, Any] = {"code": r.code, "text": r.text, "kind": r.kind}
    if r.characteristic is not None:
        out["characteristic"] = r.characteristic
        out["shortfall"] = r.shortfall
    return out


def decision_dict(d: Decision) -> dict[str, Any]:
    """``d.to_dict()``, built field by field (no deep copies)."""
    a = d.affordability
    aff = None if a is None else {
        "income": a.income, "deductions": a.deductions, "net_income": a.net_income,
        "existing_obligations": a.existing_obligations, "new_instalment": a.new_instalment, "nth": a.nth,
        "nth_share": a.nth_share, "foir": a.foir, "floor": a.floor, "passed": a.passed,
        "failed_rules": list(a.failed_rules), "margin": a.margin,
        "counter_offer": {"max_amount": a.counter_offer.max_amount, "min_term": a.counter_offer.min_term}}
    return {"outcome": d.outcome.value, "pd": d.pd, "score": d.score, "grade": d.grade, "affordability": aff,
            "reasons": [_reason(r) for r in d.reasons], "policy_version": d.policy_version,
            "model_version": d.model_version, "steps": [{"stage": s, "outcome": o} for s, o in d.steps]}


class DecisionEngine:
    """Turns one applicant (model inputs, finances, loan) into a decision dict."""

    def __init__(self, model: Any, model_version: str, policy: Policy, catalogue: Catalogue):
        self.model = model
        self.model_version = model_version
        self.policy = policy
        self.catalogue = MemoCatalogue.of(catalogue, list(model.characteristics_))
        self.max_points = {k: float(v) for k, v in model.max_points_.items()}
        mins = model.points_table().groupby("characteristic", sort=False)["points"].min()
        self.score_min = float(sum(float(mins.get(c, 0.0)) for c in self.max_points))
        self.score_max = float(sum(self.max_points.values()))

    def decide(self, inputs: dict[str, Any], finances: dict[str, Any] | None,
               loan: dict[str, Any] | None) -> dict[str, Any]:
        """The decision as a JSON-ready dict (``Decision.to_dict()`` plus the points)."""
        s = self.model.predict_one(inputs)
        scored = ScoredApplicant(pd=s["pd"], score=s["score"], grade=s["grade"], points=s["points"],
                                 model_version=self.model_version, max_points=self.max_points)
        applicant = dict(inputs)
        if finances is not None:
            applicant["finances"] = finances
        if loan is not None:
            applicant["loan"] = loan
        out = decision_dict(decide(applicant, scored, self.policy, self.catalogue))
        out["points"] = {k: float(v) for k, v in s["points"].items()}
        return out

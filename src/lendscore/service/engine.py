"""Scoring plus policy for the service: model and policy loaded once.

The single path uses ``model.predict_one`` (pure Python, no pandas); a batch builds one frame and
calls ``model.score_details`` once (:meth:`DecisionEngine.score_batch`), then applies the policy by
column (:meth:`DecisionEngine.decide_scored_batch`, :func:`~lendscore.decision.batch.decide_batch`:
the same dicts as ``decide`` row by row). Scores are identical on both paths; a PD may differ in its last bit (``numpy.exp``
against ``math.exp``). Two start-up optimisations keep a decision well under a millisecond:

- the reason catalogue's characteristic -> code mapping (fnmatch patterns) is resolved once for
  the model's characteristics (:class:`MemoCatalogue`);
- the decision is serialised by :func:`decision_dict`, the same JSON shape as
  ``Decision.to_dict()`` without ``dataclasses.asdict``'s deep copies (a test checks equality).

With a challenger (the model registry's, see :func:`load_from_registry`) every decision is also
*shadow-scored*: :meth:`DecisionEngine.shadow` / :meth:`DecisionEngine.shadow_batch` give the
challenger's pd, score and grade, which are stored beside the decision and never change it.
"""
from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lendscore.decision import (
    Catalogue,
    Decision,
    Policy,
    ReasonCode,
    ScoredApplicant,
    decide,
    decide_batch,
)

__all__ = ["Challenger", "DecisionEngine", "MemoCatalogue", "decision_dict", "load_from_registry",
           "load_model_versioned"]

log = logging.getLogger("lendscore.service")


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
class Challenger:
    """The model shadow-scored beside the champion (never deciding)."""

    model: Any
    version: str


def load_from_registry(root: Path) -> tuple[Any, str, Challenger | None]:
    """Champion model and version of the registry in ``root``, and its challenger (or None)."""
    import lendscore
    from lendscore.monitoring import Registry

    registry = Registry(root)
    version, path = registry.champion()
    model = lendscore.load(path)
    chosen = registry.challenger()
    challenger = None if chosen is None else Challenger(lendscore.load(chosen[1]), chosen[0])
    return model, version, challenger


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


def input_frame(model: Any, applicants: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """The model's inputs of ``applicants`` as a frame: numeric columns float (NaN = missing),
    categorical ones object (None = missing); absent keys are missing."""
    kinds = dict(model.kinds_)
    cols: dict[str, Any] = {}
    for name in (str(c) for c in model.feature_names_in_):
        values = [a.get(name) for a in applicants]
        if kinds.get(name) == "categorical":
            cols[name] = np.array(values, dtype=object)
        else:
            cols[name] = np.array([np.nan if v is None else v for v in values], dtype=float)
    return pd.DataFrame(cols)


def profile_of(model: Any):
    """The built-in dataset profile the model was trained through (its metadata), or None."""
    from lendscore.data import PROFILES

    name = (getattr(model, "metadata_", None) or {}).get("profile")
    return PROFILES.get(name)


def request_fields(model: Any) -> tuple[list[str], dict[str, str]]:
    """Applicant fields a request may carry: the model's inputs, plus the raw fields its profile
    derives features from (e.g. Lending Club's ``issue_d`` and ``earliest_cr_line``, as text)."""
    names = [str(c) for c in model.feature_names_in_]
    kinds = dict(model.kinds_)
    profile = profile_of(model)
    for raw in (profile.raw_inputs if profile is not None else ()):
        if raw not in kinds:
            names.append(raw)
            kinds[raw] = "categorical"
    return names, kinds


def _applicant(inputs: Mapping[str, Any], finances: dict[str, Any] | None, loan: dict[str, Any] | None) -> dict:
    """The applicant as the policy reads it: the inputs, with ``finances`` and ``loan`` when given."""
    applicant = dict(inputs)
    if finances is not None:
        applicant["finances"] = finances
    if loan is not None:
        applicant["loan"] = loan
    return applicant


class DecisionEngine:
    """Turns one applicant (model inputs, finances, loan) into a decision dict."""

    def __init__(self, model: Any, model_version: str, policy: Policy, catalogue: Catalogue,
                 challenger: Challenger | None = None):
        self.model = model
        self.model_version = model_version
        self.policy = policy
        self.challenger = challenger
        self.catalogue = MemoCatalogue.of(catalogue, list(model.characteristics_))
        self.max_points = {k: float(v) for k, v in model.max_points_.items()}
        mins = model.points_table().groupby("characteristic", sort=False)["points"].min()
        self.score_min = float(sum(float(mins.get(c, 0.0)) for c in self.max_points))
        self.score_max = float(sum(self.max_points.values()))
        self.derive_one = profile_of(model).derive_one if profile_of(model) is not None else None

    def _inputs(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """Inputs with the features the model's dataset profile derives (NTH, credit age) filled
        in from the raw fields, exactly as training computed them."""
        return self.derive_one(dict(inputs)) if self.derive_one is not None else dict(inputs)

    def decide(self, inputs: dict[str, Any], finances: dict[str, Any] | None,
               loan: dict[str, Any] | None) -> dict[str, Any]:
        """The decision as a JSON-ready dict (``Decision.to_dict()`` plus the points)."""
        s = self.model.predict_one(self._inputs(inputs))
        scored = ScoredApplicant(pd=s["pd"], score=s["score"], grade=s["grade"], points=s["points"],
                                 model_version=self.model_version, max_points=self.max_points)
        return self.decide_scored(scored, inputs, finances, loan)

    def score_batch(self, applicants: Sequence[Mapping[str, Any]]) -> list[ScoredApplicant]:
        """One ``score_details`` call for all ``applicants`` (same scores as the single path)."""
        details = self.model.score_details(input_frame(self.model, [self._inputs(a) for a in applicants]))
        cols = [c for c in details.columns if str(c).startswith("points_")]
        names = [c.removeprefix("points_") for c in cols]
        points = np.column_stack([details[c].to_numpy(dtype=float) for c in cols]).tolist() if cols else \
            [[] for _ in range(len(details))]
        grades = details["grade"].tolist()
        return [ScoredApplicant(pd=p, score=sc, grade=None if g is None or g != g else str(g),
                                points=dict(zip(names, pts)), model_version=self.model_version,
                                max_points=self.max_points)
                for p, sc, g, pts in zip(details["pd"].tolist(), details["score"].tolist(), grades, points)]

    def decide_scored(self, scored: ScoredApplicant, inputs: dict[str, Any], finances: dict[str, Any] | None,
                      loan: dict[str, Any] | None) -> dict[str, Any]:
        """The decision dict of an applicant already scored (:meth:`score_batch`)."""
        out = decision_dict(decide(_applicant(inputs, finances, loan), scored, self.policy, self.catalogue))
        out["points"] = dict(scored.points)
        return out

    def decide_scored_batch(self, scored: Sequence[ScoredApplicant],
                            requests: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """:meth:`decide_scored` for many applicants at once (:func:`~lendscore.decision.batch.decide_batch`,
        the same dicts); ``requests`` are dicts with ``applicant``, ``finances`` and ``loan``."""
        applicants = [_applicant(r["applicant"], r["finances"], r["loan"]) for r in requests]
        outs = decide_batch(applicants, scored, self.policy, self.catalogue)
        for out, s in zip(outs, scored, strict=True):
            out["points"] = dict(s.points)
        return outs

    def shadow(self, inputs: Mapping[str, Any]) -> dict[str, Any] | None:
        """The challenger's pd, score and grade for one applicant; None without a challenger or
        when it fails (logged: the shadow must never fail a decision)."""
        ch = self.challenger
        if ch is None:
            return None
        try:
            s = ch.model.predict_one(self._inputs(inputs))
        except Exception as exc:  # noqa: BLE001 - a shadow failure never reaches the decision
            log.warning("challenger scoring failed", extra={"challenger_version": ch.version,
                                                              "exc_type": type(exc).__name__})
            return None
        return {"model_version": ch.version, "pd": float(s["pd"]), "score": float(s["score"]),
                "grade": None if s["grade"] is None else str(s["grade"])}

    def shadow_batch(self, applicants: Sequence[Mapping[str, Any]]) -> list[dict[str, Any] | None]:
        """:meth:`shadow` for many applicants with one ``score_details`` call."""
        ch = self.challenger
        if ch is None:
            return [None] * len(applicants)
        try:
            d = ch.model.score_details(input_frame(ch.model, [self._inputs(a) for a in applicants]))
        except Exception as exc:  # noqa: BLE001 - a shadow failure never reaches the decisions
            log.warning("challenger scoring failed", extra={"challenger_version": ch.version,
                                                              "exc_type": type(exc).__name__})
            return [None] * len(applicants)
        return [{"model_version": ch.version, "pd": p, "score": sc, "grade": None if g is None or g != g else str(g)}
                for p, sc, g in zip(d["pd"].tolist(), d["score"].tolist(), d["grade"].tolist())]

"""Scoring plus policy: one application in, one decision out, the same through every door.

``lendscore decide`` and the decision service both decide through :class:`DecisionEngine` (model
and policy loaded once). An application is one JSON object: the model's inputs and the raw fields
its derivation reads (the model file's ``inputs`` section), optionally ``finances``, ``loan`` and
``applicant_id``; absent or null means missing, an unknown field is refused by name. Before
scoring, the policy completes the finances (:func:`~lendscore.decision.affordability.complete_finances`)
so that the NTH the model reads is the NTH the decision shows.

The single path uses ``model.predict_one``; a batch builds one frame and
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

from lendscore.data.derivation import application_frame
from lendscore.decision.affordability import complete_finances
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
           "load_model_versioned", "model_version_of", "request_fields", "warnings_by_row"]

log = logging.getLogger("lendscore.service")


def model_version_of(model: Any, path: Path | None = None) -> str:
    """The version a model is served and audited as: its metadata's ``model_version`` if set,
    else the file name and the first 12 hex digits of its SHA-256 (the one definition, used by
    the CLI, the service and the registry)."""
    version = (getattr(model, "metadata_", None) or {}).get("model_version")
    if version:
        return str(version)
    if path is None:
        return "unsaved"
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]
    return f"{Path(path).name}#sha256:{digest}"


def load_model_versioned(path: Path) -> tuple[Any, str]:
    """The model and its version (:func:`model_version_of`)."""
    import lendscore

    model = lendscore.load(path)
    return model, model_version_of(model, path)


def warnings_by_row(table: pd.DataFrame, n: int) -> list[list[dict[str, Any]]]:
    """``Scorecard.input_warnings`` rows grouped per applicant: ``[{"field", "rule", "value"}]``."""
    out: list[list[dict[str, Any]]] = [[] for _ in range(n)]
    for row, field_, rule, value in zip(table["row"].tolist(), table["field"].tolist(), table["rule"].tolist(),
                                        table["value"].tolist()):
        out[row].append({"field": field_, "rule": rule, "value": value})
    return out


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


def request_fields(model: Any) -> tuple[list[str], dict[str, str]]:
    """Applicant fields a request may carry (the model file's ``inputs`` fields) and their kinds
    (``numeric``, ``categorical``; a date is text in JSON, so ``categorical``)."""
    spec = model.inputs_
    return list(spec.names), {f.name: ("numeric" if f.type == "number" else "categorical") for f in spec.fields}


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
        rule = policy.affordability.rule() if policy.affordability is not None else None
        self.deduction_rate = 0.0 if rule is None else float(rule.deduction_rate)

    def application(self, applicant: Mapping[str, Any], finances: Mapping[str, Any] | None,
                    loan: Mapping[str, Any] | None) -> dict[str, Any]:
        """The application the model and the policy read: the applicant's fields, with the
        finances completed by the policy (deductions) and the loan."""
        return _applicant(applicant, complete_finances(finances, self.deduction_rate), loan)

    def decide(self, inputs: dict[str, Any], finances: dict[str, Any] | None,
               loan: dict[str, Any] | None, *, decision_date: Any = None) -> dict[str, Any]:
        """The decision as a JSON-ready dict (``Decision.to_dict()`` plus points and warnings)."""
        app = self.application(inputs, finances, loan)
        s = self.model.predict_one(app, decision_date=decision_date)
        scored = ScoredApplicant(pd=s["pd"], score=s["score"], grade=s["grade"], points=s["points"],
                                 model_version=self.model_version, max_points=self.max_points)
        out = self.decide_scored(scored, inputs, app.get("finances"), loan)
        out["warnings"] = s["warnings"]
        return out

    def score_batch(self, applicants: Sequence[Mapping[str, Any]], *, decision_date: Any = None,
                    ) -> list[ScoredApplicant]:
        """One ``score_details`` call for all ``applicants`` (same scores as the single path).

        ``applicants`` are applications as :meth:`application` builds them (fields, finances, loan);
        the warnings of row ``i`` are in ``self.last_warnings[i]``."""
        frame = application_frame(self.model.inputs_, applicants)
        derived = self.model.derive(frame, decision_date=decision_date)
        details = self.model.score_details(derived)
        self.last_warnings = warnings_by_row(self.model.input_warnings(derived), len(frame))
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
        applicants = [self.application(r["applicant"], r["finances"], r["loan"]) for r in requests]
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
            s = ch.model.predict_one(dict(inputs))
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
            d = ch.model.score_details(application_frame(ch.model.inputs_, applicants))
        except Exception as exc:  # noqa: BLE001 - a shadow failure never reaches the decisions
            log.warning("challenger scoring failed", extra={"challenger_version": ch.version,
                                                              "exc_type": type(exc).__name__})
            return [None] * len(applicants)
        return [{"model_version": ch.version, "pd": p, "score": sc, "grade": None if g is None or g != g else str(g)}
                for p, sc, g in zip(d["pd"].tolist(), d["score"].tolist(), d["grade"].tolist())]

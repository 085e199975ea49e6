"""Scoring plus policy: one application in, one decision out, the same through every door.

``lendscore decide`` and the decision service both decide through :class:`DecisionEngine` (model
and policy loaded once). An application is one JSON object: the model's inputs and the raw fields
its derivation reads (the model file's ``inputs`` section), optionally ``finances``, ``loan`` and
``applicant_id``; absent or null means missing, an unknown field is refused by name. Before
scoring, the policy completes the finances (:func:`~lendscore.decision.affordability.complete_finances`)
so that the NTH the model reads is the NTH the decision shows.

The single path uses ``model.predict_one`` (:meth:`DecisionEngine.decide_application`); a batch
builds one frame and scores it in one vectorised pass (:meth:`DecisionEngine.score_applications`),
then applies the policy by column (:meth:`DecisionEngine.decide_scored_applications`,
:func:`~lendscore.decision.batch.decide_batch`: the same dicts as row by row). Scores are identical
on both paths; a PD may differ in its last bit (``numpy.exp`` against ``math.exp``). Both take a
``decision_date``, which dates an application without its application-date field (default today;
the service passes the decision's own day, so the stored application re-derives the same).
The reason catalogue memoises its characteristic -> code mapping (fnmatch patterns,
:meth:`~lendscore.decision.Catalogue.code_for`); the engine resolves the model's characteristics
once at start-up, so a characteristic without a code fails there and no decision scans patterns.
A decision is serialised by ``Decision.to_dict()``, the one definition of its JSON shape.

The version a model is served and audited as is :func:`model_version_of`, for a model file
(``lendscore decide``, the service's ``model_path``) and for a registry's champion and challenger.

With a challenger (the model registry's, see :func:`load_from_registry`) every decision is also
*shadow-scored*: :meth:`DecisionEngine.shadow` / :meth:`DecisionEngine.shadow_batch` give the
challenger's pd, score and grade for the same application as the champion's (fields, completed
finances, loan), which are stored beside the decision and never change it.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lendscore.data.derivation import APPLICATION_GROUPS, application_frame
from lendscore.decision import Catalogue, Policy, ScoredApplicant, decide, decide_batch
from lendscore.decision.affordability import complete_finances

__all__ = ["Challenger", "DecisionEngine", "load_from_registry", "load_model_versioned", "model_version_of"]

log = logging.getLogger("lendscore.service")


def model_version_of(model: Any, path: Path | None = None, *, registered: str | None = None) -> str:
    """The version a model is served and audited as (the one definition, used by ``lendscore
    decide``, the service and the registry path): the name a registry gave it (``registered``),
    else its metadata's ``model_version`` if set, else the file name and the first 12 hex digits
    of the file's SHA-256 (``"unsaved"`` without a file)."""
    if registered:
        return registered
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


@dataclass(frozen=True)
class Challenger:
    """The model shadow-scored beside the champion (never deciding)."""

    model: Any
    version: str


def load_from_registry(root: Path) -> tuple[Any, str, Challenger | None]:
    """Champion model and version of the registry in ``root``, and its challenger (or None); each
    versioned by :func:`model_version_of` as its registry entry names it."""
    import lendscore
    from lendscore.monitoring import Registry

    registry = Registry(root)
    name, path = registry.champion()
    model = lendscore.load(path)
    chosen = registry.challenger()
    challenger = None
    if chosen is not None:
        shadow = lendscore.load(chosen[1])
        challenger = Challenger(shadow, model_version_of(shadow, chosen[1], registered=chosen[0]))
    return model, model_version_of(model, path, registered=name), challenger


def _applicant(inputs: Mapping[str, Any], finances: Mapping[str, Any] | None, loan: Mapping[str, Any] | None) -> dict:
    """The applicant as the policy reads it: the inputs, with ``finances`` and ``loan`` when given."""
    applicant = dict(inputs)
    if finances is not None:
        applicant["finances"] = finances
    if loan is not None:
        applicant["loan"] = loan
    return applicant


class DecisionEngine:
    """Turns one applicant (model inputs, finances, loan) into a decision dict."""

    def __init__(
        self, model: Any, model_version: str, policy: Policy, catalogue: Catalogue, challenger: Challenger | None = None
    ):
        self.model = model
        self.model_version = model_version
        self.policy = policy
        self.challenger = challenger
        self.catalogue = catalogue
        for c in model.characteristics_:  # memoised by the catalogue; a characteristic without a code fails here
            catalogue.code_for(c)
        self.max_points = {k: float(v) for k, v in model.max_points_.items()}
        mins = model.points_table().groupby("characteristic", sort=False)["points"].min()
        self.score_min = float(sum(float(mins.get(c, 0.0)) for c in self.max_points))
        self.score_max = float(sum(self.max_points.values()))
        rule = policy.affordability.rule() if policy.affordability is not None else None
        self.deduction_rate = 0.0 if rule is None else float(rule.deduction_rate)
        self._challenger_known = frozenset() if challenger is None else _known_fields(challenger.model)

    def application(
        self, applicant: Mapping[str, Any], finances: Mapping[str, Any] | None, loan: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        """The application the model and the policy read: the applicant's fields, with the
        finances completed by the policy (deductions) and the loan."""
        return _applicant(applicant, complete_finances(finances, self.deduction_rate), loan)

    def decide(
        self,
        inputs: dict[str, Any],
        finances: dict[str, Any] | None,
        loan: dict[str, Any] | None,
        *,
        decision_date: Any = None,
    ) -> dict[str, Any]:
        """The decision as a JSON-ready dict (``Decision.to_dict()`` plus points and warnings)."""
        return self.decide_application(self.application(inputs, finances, loan), decision_date=decision_date)

    def decide_application(self, app: Mapping[str, Any], *, decision_date: Any = None) -> dict[str, Any]:
        """:meth:`decide` of an application :meth:`application` built (finances completed): the
        model scores it (deriving its inputs) and the policy decides it, both reading ``app``.
        A raw value the derivation refuses raises :class:`~lendscore.errors.DataError` naming it."""
        s = self.model.predict_one(app, decision_date=decision_date)
        scored = ScoredApplicant(
            pd=s["pd"],
            score=s["score"],
            grade=s["grade"],
            points=s["points"],
            model_version=self.model_version,
            max_points=self.max_points,
        )
        out = self.decide_scored_application(scored, app)
        out["warnings"] = s["warnings"]
        return out

    def score_applications(
        self,
        apps: Sequence[Mapping[str, Any]],
        *,
        decision_date: Any = None,
    ) -> tuple[list[ScoredApplicant], list[list[dict[str, Any]]]]:
        """Scores and input warnings of many applications (as :meth:`application` builds them):
        one frame, derived once, scored by one vectorised pass (the same scores as the single path)."""
        frame = application_frame(self.model.inputs_, apps)
        details = self.model.score_details(frame, decision_date=decision_date, warnings=True)
        warnings = details["warnings"].tolist()
        cols = [c for c in details.columns if str(c).startswith("points_")]
        names = [c.removeprefix("points_") for c in cols]
        points = (
            np.column_stack([details[c].to_numpy(dtype=float) for c in cols]).tolist()
            if cols
            else [[] for _ in range(len(details))]
        )
        grades = details["grade"].tolist()
        scored = [
            ScoredApplicant(
                pd=p,
                score=sc,
                grade=None if g is None or g != g else str(g),
                points=dict(zip(names, pts, strict=True)),
                model_version=self.model_version,
                max_points=self.max_points,
            )
            for p, sc, g, pts in zip(details["pd"].tolist(), details["score"].tolist(), grades, points, strict=True)
        ]
        return scored, warnings

    def decide_scored_application(self, scored: ScoredApplicant, app: Mapping[str, Any]) -> dict[str, Any]:
        """The decision dict of an application :meth:`application` built, already scored."""
        out = decide(app, scored, self.policy, self.catalogue).to_dict()
        out["points"] = dict(scored.points)
        return out

    def decide_scored_applications(
        self, scored: Sequence[ScoredApplicant], apps: Sequence[Mapping[str, Any]]
    ) -> list[dict[str, Any]]:
        """:meth:`decide_scored_application` for many applications at once (by column)."""
        outs = decide_batch(list(apps), scored, self.policy, self.catalogue)
        for out, s in zip(outs, scored, strict=True):
            out["points"] = dict(s.points)
        return outs

    def shadow(self, app: Mapping[str, Any], *, decision_date: Any = None) -> dict[str, Any] | None:
        """The challenger's pd, score and grade for one application -- the champion's application
        (fields, completed finances, loan; the fields the challenger does not know are left out, as
        :meth:`shadow_batch`'s frame leaves them out). None without a challenger or when it fails
        (logged: the shadow must never fail a decision)."""
        ch = self.challenger
        if ch is None:
            return None
        known = self._challenger_known
        try:
            s = ch.model.predict_one({k: v for k, v in app.items() if k in known}, decision_date=decision_date)
        except Exception as exc:
            log.warning(
                "challenger scoring failed", extra={"challenger_version": ch.version, "exc_type": type(exc).__name__}
            )
            return None
        return {
            "model_version": ch.version,
            "pd": float(s["pd"]),
            "score": float(s["score"]),
            "grade": None if s["grade"] is None else str(s["grade"]),
        }

    def shadow_batch(
        self,
        apps: Sequence[Mapping[str, Any]],
        *,
        decision_date: Any = None,
    ) -> list[dict[str, Any] | None]:
        """:meth:`shadow` for many applications with one vectorised pass."""
        ch = self.challenger
        if ch is None:
            return [None] * len(apps)
        try:
            d = ch.model.score_details(application_frame(ch.model.inputs_, apps), decision_date=decision_date)
        except Exception as exc:
            log.warning(
                "challenger scoring failed", extra={"challenger_version": ch.version, "exc_type": type(exc).__name__}
            )
            return [None] * len(apps)
        return [
            {"model_version": ch.version, "pd": p, "score": sc, "grade": None if g is None or g != g else str(g)}
            for p, sc, g in zip(d["pd"].tolist(), d["score"].tolist(), d["grade"].tolist(), strict=True)
        ]


def _known_fields(model: Any) -> frozenset[str]:
    """Names an application to ``model`` may carry (what ``InputSpec.check_names`` accepts)."""
    spec = model.inputs_
    return frozenset({*spec.names, *spec.derivation.outputs, *spec.ignored, "applicant_id", *APPLICATION_GROUPS})

"""Scoring plus policy for the service: model and policy loaded once, one applicant at a time.

The single path uses ``model.predict_one`` (pure Python, no pandas); a batch calls it per row,
which for the scorecard is faster than building a frame for up to a few thousand rows.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from lendscore.decision import Catalogue, Policy, ScoredApplicant, decide

__all__ = ["DecisionEngine", "load_model_versioned"]


def load_model_versioned(path: Path) -> tuple[Any, str]:
    """The model and its version: metadata ``model_version`` if set, else file name + SHA-256 prefix."""
    import lendscore

    model = lendscore.load(path)
    version = (getattr(model, "metadata_", None) or {}).get("model_version")
    if not version:
        digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]
        version = f"{Path(path).name}#sha256:{digest}"
    return model, str(version)


class DecisionEngine:
    """Turns one applicant (model inputs, finances, loan) into a decision dict."""

    def __init__(self, model: Any, model_version: str, policy: Policy, catalogue: Catalogue):
        self.model = model
        self.model_version = model_version
        self.policy = policy
        self.catalogue = catalogue
        self.max_points = dict(model.max_points_)
        table = model.points_table()
        mins = table.groupby("characteristic", sort=False)["points"].min()
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
        out = decide(applicant, scored, self.policy, self.catalogue).to_dict()
        out["points"] = {k: float(v) for k, v in s["points"].items()}
        return out

"""Points scaling: from log-odds to scorecard points (pure functions).

``factor = pdo / ln 2``, ``offset = base_points - factor * ln(base_odds)`` and
``score = offset + factor * ln(odds good:bad) = offset - factor * logit(PD)``: a score of
``base_points`` means odds of ``base_odds`` good to one bad, and every ``pdo`` points double them.

The intercept and the offset are shared equally by the ``n_characteristics`` input
characteristics (Siddiqi's convention), so that a characteristic's points are
``-(coef * woe + intercept / n) * factor + offset / n`` and the points add up to the score.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["Scaling", "bin_points", "score_to_pd", "pd_to_score"]


class Scaling:
    """Score scaling constants. Higher scores mean lower risk."""

    __slots__ = ("pdo", "base_points", "base_odds", "factor", "offset")

    def __init__(self, pdo: float = 20.0, base_points: float = 600.0, base_odds: float = 50.0):
        if not pdo > 0:
            raise ValueError(f"pdo must be > 0; got {pdo!r}")
        if not base_odds > 0:
            raise ValueError(f"base_odds must be > 0; got {base_odds!r}")
        self.pdo = float(pdo)
        self.base_points = float(base_points)
        self.base_odds = float(base_odds)
        self.factor = self.pdo / math.log(2.0)
        self.offset = self.base_points - self.factor * math.log(self.base_odds)

    def to_dict(self) -> dict[str, float]:
        return {
            "pdo": self.pdo,
            "base_points": self.base_points,
            "base_odds": self.base_odds,
            "factor": self.factor,
            "offset": self.offset,
        }


def bin_points(coef: float, woe: np.ndarray, intercept: float, n_characteristics: int, scaling: Scaling) -> np.ndarray:
    """Points of every bin of one input characteristic."""
    share = 1.0 / n_characteristics
    return -(coef * np.asarray(woe, dtype=float) + intercept * share) * scaling.factor + scaling.offset * share


def score_to_pd(score, scaling: Scaling):
    """PD of a score (inverse of :func:`pd_to_score`)."""
    return 1.0 / (1.0 + np.exp((np.asarray(score, dtype=float) - scaling.offset) / scaling.factor))


def pd_to_score(pd_, scaling: Scaling):
    p = np.asarray(pd_, dtype=float)
    with np.errstate(divide="ignore"):
        return scaling.offset + scaling.factor * np.log((1.0 - p) / p)

"""Interaction rules: "A in some bins and B in some bins" indicators added to the WoE model.

In the spirit of penalised logistic tree regression (Dumitrescu, Hué, Hurlin and Tokpavi,
European Journal of Operational Research, 2022): short two-variable rules, like the leaves of a
depth-two tree, capture what a model that is additive in WoE cannot; each rule is a binary
characteristic with its own points, so the scorecard stays a table a person can read.

The conditions on one characteristic are the orthants of its ordered regular bins ("bin <= i",
"bin >= i") and its Special and Missing bins. A candidate rule is a pair of conditions on two
characteristics; it is scored by the score-test statistic of adding its indicator to the current
model, ``z^2 = (sum over the rule's rows of (y - p))^2 / sum over them of p (1 - p)``, computed for
all candidates of a pair at once from the pair's two-way table, without refitting. A rule enters
only when ``z^2`` clears a Bonferroni-corrected chi-square threshold over all candidates scored.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = ["Rule", "RuleSearch", "bonferroni_z2", "conditions"]


@dataclass(frozen=True)
class Rule:
    feature_a: str
    bins_a: tuple[int, ...]
    feature_b: str
    bins_b: tuple[int, ...]

    @property
    def name(self) -> str:
        return f"{self.feature_a} x {self.feature_b} [{_span(self.bins_a)}; {_span(self.bins_b)}]"

    def mask(self, index_a: np.ndarray, index_b: np.ndarray, n_bins_a: int, n_bins_b: int) -> np.ndarray:
        la = np.zeros(n_bins_a, dtype=bool)
        la[list(self.bins_a)] = True
        lb = np.zeros(n_bins_b, dtype=bool)
        lb[list(self.bins_b)] = True
        return la[index_a] & lb[index_b]

    def to_dict(self) -> dict:
        return {
            "feature_a": self.feature_a,
            "bins_a": list(self.bins_a),
            "feature_b": self.feature_b,
            "bins_b": list(self.bins_b),
        }

    @classmethod
    def from_dict(cls, d: dict) -> Rule:
        return cls(d["feature_a"], tuple(d["bins_a"]), d["feature_b"], tuple(d["bins_b"]))


def _span(bins: tuple[int, ...]) -> str:
    return f"bin {bins[0]}" if len(bins) == 1 else f"bins {bins[0]}-{bins[-1]}"


def conditions(n_bins: int, present: np.ndarray) -> list[tuple[int, ...]]:
    """Orthant conditions on the k = n_bins - 2 regular bins, plus Special and Missing if present."""
    k = n_bins - 2
    out = []
    for i in range(1, k):
        out.append(tuple(range(0, i)))
        out.append(tuple(range(i, k)))
    for j in (k, k + 1):
        if present[j]:
            out.append((j,))
    return out


def bonferroni_z2(n_candidates: int, alpha: float = 0.05) -> float:
    """Chi-square (1 df) threshold of a family-wise ``alpha`` over ``n_candidates`` tests."""
    return float(stats.chi2.isf(alpha / max(n_candidates, 1), df=1))


class RuleSearch:
    """Candidate rules over all pairs of characteristics, scored against a model's residuals.

    The pairs' cell codes, row-count tables and condition matrices depend only on the bins, so
    they are built once and reused in every round; a round then costs two weighted bincounts
    per pair.
    """

    def __init__(
        self,
        index: dict[str, np.ndarray],
        n_bins: dict[str, int],
        w: np.ndarray,
        *,
        min_support: float,
        alpha: float = 0.05,
    ):
        self.names = list(index)
        self.n_bins = n_bins
        self.w = w
        self.alpha = alpha
        total = w.sum()
        self.conds, self.mats = {}, {}
        for c in self.names:
            present = np.bincount(index[c], minlength=n_bins[c]) > 0
            self.conds[c] = conditions(n_bins[c], present)
            M = np.zeros((len(self.conds[c]), n_bins[c]))
            for i, cond in enumerate(self.conds[c]):
                M[i, list(cond)] = 1.0
            self.mats[c] = M
        self.pairs = []
        small = {c: index[c].astype(np.int32) for c in self.names}  # cheaper cell arithmetic
        unit = bool(np.all(w == 1.0))
        for ia, a in enumerate(self.names):
            for b in self.names[ia + 1 :]:
                if not self.conds[a] or not self.conds[b]:
                    continue
                na, nb = n_bins[a], n_bins[b]
                cell = small[a] * np.int32(nb) + small[b]
                counts = (
                    np.bincount(cell, minlength=na * nb) if unit else np.bincount(cell, weights=w, minlength=na * nb)
                )
                support = self.mats[a] @ counts.reshape(na, nb) @ self.mats[b].T
                ok = (support >= min_support * total) & (support <= (1 - min_support) * total)
                self.pairs.append((a, b, cell, ok))

    def best(
        self, y: np.ndarray, p: np.ndarray, *, exclude_pairs: set[tuple[str, str]], max_new: int
    ) -> list[tuple[float, Rule]]:
        """Best new rules (at most one per pair), strongest first, above the Bonferroni threshold."""
        r = self.w * (y - p)
        v = self.w * p * (1.0 - p)
        best: list[tuple[float, Rule]] = []
        n_cand = 0
        for a, b, cell, ok in self.pairs:
            if (a, b) in exclude_pairs:
                continue
            na, nb = self.n_bins[a], self.n_bins[b]
            R, V = (
                self.mats[a] @ np.bincount(cell, weights=x, minlength=na * nb).reshape(na, nb) @ self.mats[b].T
                for x in (r, v)
            )
            n_cand += R.size
            z2 = np.where(ok & (V > 0), R * R / np.where(V > 0, V, 1.0), 0.0)
            i, j = np.unravel_index(int(np.argmax(z2)), z2.shape)
            best.append((float(z2[i, j]), Rule(a, self.conds[a][i], b, self.conds[b][j])))
        threshold = bonferroni_z2(n_cand, self.alpha)
        out = [t for t in best if t[0] > threshold]
        out.sort(key=lambda t: (-t[0], t[1].name))
        return out[:max_new]

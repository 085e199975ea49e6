"""The scoring table: everything scoring reads, as one frozen value built from the fitted state.

Every scoring path reads :class:`ScoringTable` and nothing else of the fitted estimator: the frame
path (``score_details``, ``predict_proba``), the one-applicant path (``predict_one``), streaming
(``lendscore score``), the SQL export, and the model file (which writes it and, on load, checks it
against the one rebuilt from the bins and coefficients). :func:`scoring_table` is a pure function
of (binnings, selected characteristics, rules, coefficients, intercept, scaling, grades).

Per characteristic *j* with coefficient ``b_j`` and bin WoE ``w_ji`` (see
:mod:`lendscore.model.scaling`): the log-odds contribution is ``b_j * w_ji`` and the points are
``-(b_j * w_ji + intercept / n) * factor + offset / n``; a rule adds ``b_r`` to the log-odds and
``-b_r * factor`` points when both its conditions hold. The bin lookup itself is the
characteristic's :class:`~lendscore.features.binning.FeatureBinning` (``bin_index`` for a column,
``index_of`` for one value; ``tests/test_binning.py`` ties the two).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from lendscore.features.binning import FeatureBinning
from lendscore.features.rules import Rule
from lendscore.model.scaling import Scaling, bin_points

__all__ = ["CharacteristicTable", "RuleTable", "ScoringTable", "scoring_table"]


@dataclass(frozen=True)
class CharacteristicTable:
    """One characteristic: its bins (the lookup) and, per bin, log-odds and points."""

    name: str
    binning: FeatureBinning
    coef: float
    log_odds: np.ndarray  # coef * woe (penalised form: coef * fitted log-odds), one per bin (Special and Missing last)
    points: np.ndarray
    points_list: tuple[float, ...]  # the same points as Python floats (the one-applicant path)
    training_range: tuple[float, float] | None = None  # numbers: values beyond it are reported

    @property
    def labels(self) -> list[str]:
        return self.binning.labels()


@dataclass(frozen=True)
class RuleTable:
    """One interaction rule: the bins of each side where it holds, and what it adds."""

    rule: Rule
    mask_a: np.ndarray  # bool per bin of rule.feature_a
    mask_b: np.ndarray
    bins_a: frozenset[int]
    bins_b: frozenset[int]
    coef: float
    points: float  # added when the rule holds (0 otherwise)
    log_odds: float  # added to the log-odds when the rule holds (the coefficient, unless points are rounded)

    @property
    def name(self) -> str:
        return self.rule.name


@dataclass(frozen=True)
class ScoringTable:
    """Bins, points, rule cells, scaling and grade bounds of a fitted scorecard."""

    characteristics: tuple[CharacteristicTable, ...]
    rules: tuple[RuleTable, ...]
    intercept: float
    scaling: Scaling
    grades: tuple[dict[str, Any], ...]
    # training ranges of numeric inputs read only by rules (characteristics carry their own)
    rule_input_ranges: dict[str, tuple[float, float]] = field(default_factory=dict)

    @cached_property
    def _ranges(self) -> dict[str, tuple[float, float] | None]:
        return {**self.rule_input_ranges, **{c.name: c.training_range for c in self.characteristics}}

    def training_range(self, name: str) -> tuple[float, float] | None:
        return self._ranges.get(name)

    @cached_property
    def grade_bounds(self) -> list[float]:
        """Upper PD of every grade but the last (a PD equal to a bound takes the better grade)."""
        return [g["pd_max"] for g in self.grades[:-1]]

    @cached_property
    def inputs(self) -> tuple[str, ...]:
        """Inputs read: the characteristics, then the rules' inputs not already among them."""
        names = [c.name for c in self.characteristics]
        for r in self.rules:
            names += [f for f in (r.rule.feature_a, r.rule.feature_b) if f not in names]
        return tuple(names)

    def max_points(self) -> dict[str, float]:
        out = {c.name: float(c.points.max()) for c in self.characteristics}
        out.update({r.name: max(r.points, 0.0) for r in self.rules})
        return out

    def to_dict(self) -> dict[str, Any]:
        """What the model file stores (``scoring_table``): points per bin and per rule."""
        return {
            "intercept": self.intercept,
            "scaling": self.scaling.to_dict(),
            "characteristics": [
                {"name": c.name, "bins": c.labels, "points": c.points.tolist()} for c in self.characteristics
            ],
            "rules": [{"name": r.name, "points": r.points} for r in self.rules],
            "grade_pd_max": [g["pd_max"] for g in self.grades],
        }


def scoring_table(
    binnings: dict[str, FeatureBinning],
    selected: list[str],
    rules: list[Rule],
    coef: np.ndarray,
    intercept: float,
    scaling: Scaling,
    grades: list[dict[str, Any]],
    training_ranges: dict[str, tuple[float, float]] | None = None,
    points_rounding: int | None = None,
) -> ScoringTable:
    """The scoring table of a fitted scorecard (``coef``: characteristics first, then rules);
    ``training_ranges`` are the numeric inputs' [min, max] in training (for warnings).

    With ``points_rounding`` (decimals; 0 = whole points, the usual scorecard convention) every
    bin's and rule's points are rounded, a score is exactly the sum of the printed points, and the
    log-odds per bin are the ones those points imply (``(offset / n - points) / factor - intercept
    / n``), so the PD of every path (``predict_proba`` included) follows the rounded score.
    """
    ranges = training_ranges or {}
    n_in = len(selected)
    share = 1.0 / n_in if n_in else 0.0
    chars = []
    for j, c in enumerate(selected):
        b = binnings[c]
        # the classic form scales the bins' WoE; the penalised form fitted each bin's log-odds
        woe = np.asarray(b.woe if b.log_odds is None else b.log_odds, dtype=float)
        pts = bin_points(coef[j], woe, intercept, n_in, scaling)
        log_odds = coef[j] * woe
        if points_rounding is not None:
            pts = np.round(pts, points_rounding)
            log_odds = (scaling.offset * share - pts) / scaling.factor - intercept * share
        chars.append(CharacteristicTable(c, b, float(coef[j]), log_odds, pts, tuple(pts.tolist()), ranges.get(c)))
    rtabs = []
    for k, r in enumerate(rules):
        ma = np.zeros(binnings[r.feature_a].n_bins, dtype=bool)
        ma[list(r.bins_a)] = True
        mb = np.zeros(binnings[r.feature_b].n_bins, dtype=bool)
        mb[list(r.bins_b)] = True
        c_r = float(coef[n_in + k])
        on = float(-c_r * scaling.factor)
        lo = c_r
        if points_rounding is not None:
            on = float(round(on, points_rounding))
            lo = -on / scaling.factor
        rtabs.append(RuleTable(r, ma, mb, frozenset(r.bins_a), frozenset(r.bins_b), c_r, on, lo))
    rule_inputs = {f for r in rules for f in (r.feature_a, r.feature_b)} - set(selected)
    return ScoringTable(
        tuple(chars),
        tuple(rtabs),
        float(intercept),
        scaling,
        tuple(grades),
        {f: ranges[f] for f in rule_inputs if f in ranges},
    )

"""The fitting steps of :class:`lendscore.model.scorecard.Scorecard`, kept apart to keep each file short.

Cross-fitted WoE design, the sign check, the interaction-rule rounds and the final exact fit.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
from scipy import special

from lendscore.features.rules import Rule, RuleSearch
from lendscore.features.woe import woe_iv
from lendscore.model._data import check_sample_weight
from lendscore.model.logit import fit_logit, with_covariance

if TYPE_CHECKING:
    import pandas as pd

    from lendscore.features.binning import FeatureBinning
    from lendscore.model.params import Trend

__all__ = ["Design", "FitProblem", "FittingMixin"]


@dataclass(frozen=True)
class FitProblem:
    """What every fitting step reads: the design, how to get a column of it (a characteristic's
    WoE or a rule's indicator), the bin indices, the target and the weights."""

    design: Design
    column: Callable[[str | Rule], np.ndarray]
    index: dict[str, np.ndarray]
    y: np.ndarray
    w: np.ndarray

    def matrix(self, keys: list) -> np.ndarray:
        return self.design.columns(keys, self.column)


class FittingMixin:
    """Steps of ``Scorecard.fit``; they read the estimator's parameters and fitted binnings."""

    # interaction rules enter in at most 4 rounds of at most 4 (one per pair of characteristics);
    # each enters by a Bonferroni-corrected score test and stays only if its Wald test in the
    # joint fit holds at 0.1 %
    _rule_rounds = 4
    _rule_batch = 4

    # what the steps read: parameters (set by Scorecard.__init__, types as in lendscore.model.params)
    # and fitted state (set by Scorecard.fit before these steps run)
    C: float | None
    class_weight: Literal["balanced"] | None
    monotonic_trend: Trend | dict[str, Trend]
    special_codes: Literal["auto"] | dict[str, list[float]] | None
    sign_check: Literal["refit", "warn"]
    woe_cv: int
    max_rules: int
    rule_min_support: float
    binnings_: dict[str, FeatureBinning]
    selection_: pd.DataFrame

    def _fit_design(self, index, names, y01, w, fold=None) -> np.ndarray:
        """WoE matrix the regression is fitted on.

        With ``woe_cv = K >= 2`` each row's WoE comes from the bin counts of the other K - 1
        folds (cross-fitting), so the coefficients are not inflated by the WoE having seen the
        row's own outcome; scoring uses the WoE of all training rows. ``fold`` is each row's fold
        (:func:`lendscore.model.counts.fold_of_rows`, a seeded generator: fits are deterministic).
        Rows may be patterns: ``y01`` a share of events and ``w`` the pattern's weight.
        """
        W = np.empty((len(y01), len(names)))
        K = self.woe_cv
        if K in (0, 1):
            for j, c in enumerate(names):
                W[:, j] = self.binnings_[c].transform_index(index[c])
            return W
        if fold is None or len(fold) != len(y01):
            raise ValueError(f"woe_cv={K} needs one fold per row")
        for j, c in enumerate(names):
            nb = self.binnings_[c].n_bins
            key = fold * nb + index[c]
            e = np.bincount(key, weights=w * y01, minlength=K * nb).reshape(K, nb)
            t = np.bincount(key, weights=w, minlength=K * nb).reshape(K, nb)
            e_out, t_out = e.sum(0) - e, t.sum(0) - t
            table = np.vstack([woe_iv(e_out[f], t_out[f] - e_out[f])[0] for f in range(K)])
            W[:, j] = table.ravel()[key]
        return W

    def _weights(self, y01, sample_weight):
        w = check_sample_weight(sample_weight, len(y01))
        if self.class_weight == "balanced":
            pos = y01.mean()
            w = w * np.where(y01 == 1, 0.5 / pos, 0.5 / (1 - pos))
        return w

    def _trend_of(self, c):
        if isinstance(self.monotonic_trend, dict):
            return self.monotonic_trend.get(c, "auto")
        return self.monotonic_trend

    def _specials_of(self, c):
        if self.special_codes == "auto":
            return None
        if self.special_codes is None:
            return []
        return list(self.special_codes.get(c, []))

    def _wrong_signs(self, fit, selected):
        """Characteristics whose coefficient contradicts the WoE trend (should be < 0)."""
        return [(fit.coef[i], c) for i, c in enumerate(selected) if fit.coef[i] >= 0]

    def _drop_for_sign(self, wrong, selected) -> bool:
        """Drop the worst offender (True), or warn and keep all (False)."""
        if self.sign_check == "warn" or len(selected) == 1:
            warnings.warn(
                f"coefficients contradict the WoE trend for {[c for _, c in wrong]}: a higher WoE should lower the PD",
                UserWarning,
                stacklevel=4,
            )
            return False
        coef, worst = max(wrong)
        row = self.selection_.index[self.selection_.feature == worst][0]
        self.selection_.loc[row, ["selected", "reason"]] = (
            False,
            f"coefficient {coef:+.4f} contradicts its WoE trend (sign check, refit)",
        )
        selected.remove(worst)
        return True

    def _fit_with_sign_check(self, p: FitProblem, selected):
        """A near-exact fit (sample phase, then two full-data Newton steps) while characteristics
        with a wrong sign are dropped; the final fit repeats the check on the exact optimum."""
        selected = list(selected)
        while True:
            A = p.matrix(selected)
            fit = fit_logit(
                A,
                p.y,
                sample_weight=p.w,
                C=self.C,
                with_cov=False,
                # a cold start runs to the optimum (counts are small): two Newton steps from the
                # intercept-only start are far from it, and the sign check and the rule search's
                # residuals read this fit
                intercept_column=True,
                sample_start=False,
            )
            wrong = self._wrong_signs(fit, selected)
            if not wrong or not self._drop_for_sign(wrong, selected):
                return fit, selected

    def _final_fit(self, p: FitProblem, selected, rules, fit):
        """The exact maximum-likelihood fit, warm-started, with the sign check repeated on it."""
        selected = list(selected)
        init = fit.beta
        while True:
            A = p.matrix(selected + rules)
            fit = fit_logit(A, p.y, sample_weight=p.w, C=self.C, init=init, intercept_column=True, sample_start=False)
            wrong = self._wrong_signs(fit, selected)
            before = list(selected)
            if not wrong or not self._drop_for_sign(wrong, selected):
                return fit, selected, rules
            # warm start without the dropped column; rules stay (they read bins, used or not)
            gone = 1 + before.index(next(c for c in before if c not in selected))
            init = np.delete(fit.beta, gone)

    def _add_rules(self, p: FitProblem, selected, fit):
        rules: list[Rule] = []
        if self.max_rules == 0:
            return rules, fit
        index = {c: p.index[c] for c in selected}
        n_bins = {c: self.binnings_[c].n_bins for c in selected}
        used: set[tuple[str, str]] = set()
        A = p.matrix(selected)
        search = RuleSearch(index, n_bins, p.w, min_support=self.rule_min_support)
        for _round in range(self._rule_rounds):
            pd_ = special.expit(A @ fit.beta)
            new = search.best(p.y, pd_, exclude_pairs=used, max_new=min(self._rule_batch, self.max_rules - len(rules)))
            if not new:
                break
            trial = rules + [r for _, r in new]
            A = p.matrix(selected + trial)
            init = np.concatenate([fit.beta, np.zeros(len(new))])
            # full-data Newton steps from the warm start: the next round's score tests read this
            # fit's residuals, which must not carry a subsample's noise (it proposes rules that
            # only correct the approximation); two steps from a warm start are near-exact
            fit = self._near_exact(p, A, init)
            rules = trial
            used |= {(r.feature_a, r.feature_b) for _, r in new}
            if len(rules) >= self.max_rules:
                break
        if rules:  # drop rules the joint fit no longer supports (Wald test at 0.1 %)
            fit = with_covariance(fit, A, sample_weight=p.w, C=self.C, intercept_column=True)
            z = fit.inference()["z"][1 + len(selected) :]
            kept = [i for i, zz in enumerate(z) if zz * zz > 10.83]
            if len(kept) < len(rules):
                init = np.concatenate([[fit.intercept], fit.coef[: len(selected)], fit.coef[len(selected) :][kept]])
                rules = [rules[i] for i in kept]
                A = p.matrix(selected + rules)
                # near-exact is enough: the final fit finishes from here
                fit = self._near_exact(p, A, init)
        return rules, fit

    def _near_exact(self, p: FitProblem, A: np.ndarray, init: np.ndarray):
        """Two full-data Newton steps from a warm start, no covariance: near-exact, for the rule rounds."""
        return fit_logit(
            A,
            p.y,
            sample_weight=p.w,
            C=self.C,
            init=init,
            full_steps=2,
            with_cov=False,
            intercept_column=True,
            sample_start=False,
        )


class Design:
    """The regression's design ``[1 | columns...]``, Fortran-ordered and grown in place.

    Fits read a view of its leading columns, so adding a rule column or refitting costs no copy
    of the whole matrix; a column is (re)written only when the requested order differs there.
    """

    def __init__(self, n_rows: int, capacity: int):
        self.A = np.empty((n_rows, capacity + 1), order="F")
        self.A[:, 0] = 1.0
        self.keys: list = []

    def columns(self, keys: list, values) -> np.ndarray:
        """The design with exactly ``keys`` after the intercept; ``values(key)`` gives a column."""
        for i, k in enumerate(keys):
            if i >= len(self.keys) or self.keys[i] != k:
                self.A[:, 1 + i] = values(k)
        self.keys = list(keys)
        return self.A[:, : 1 + len(keys)]

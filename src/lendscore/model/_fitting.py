"""The fitting steps of :class:`lendscore.model.scorecard.Scorecard`, kept apart to keep each file short.

Cross-fitted WoE design, the sign check, the interaction-rule rounds and the final exact fit.
"""
from __future__ import annotations

import warnings

import numpy as np
from scipy import special

from lendscore.features.rules import Rule, RuleSearch
from lendscore.features.woe import woe_iv
from lendscore.model._data import check_sample_weight
from lendscore.model.logit import fit_logit, with_covariance

__all__ = ["FittingMixin"]


class FittingMixin:
    """Steps of ``Scorecard.fit``; they read the estimator's parameters and fitted binnings."""

    # interaction rules enter in at most 4 rounds of at most 4 (one per pair of characteristics);
    # each enters by a Bonferroni-corrected score test and stays only if its Wald test in the
    # joint fit holds at 0.1 %
    _rule_rounds = 4
    _rule_batch = 4

    def _fit_design(self, index, names, y01, w) -> np.ndarray:
        """WoE matrix the regression is fitted on.

        With ``woe_cv = K >= 2`` each row's WoE comes from the bin counts of the other K - 1
        folds (cross-fitting), so the coefficients are not inflated by the WoE having seen the
        row's own outcome; scoring uses the WoE of all training rows. Folds are fixed by a
        seeded generator, so fits are deterministic.
        """
        W = np.empty((len(y01), len(names)))
        K = self.woe_cv
        if K in (0, 1):
            for j, c in enumerate(names):
                W[:, j] = self.binnings_[c].transform_index(index[c])
            return W
        fold = np.random.default_rng(0).integers(0, K, len(y01))
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
            warnings.warn(f"coefficients contradict the WoE trend for {[c for _, c in wrong]}: "
                          "a higher WoE should lower the PD", UserWarning, stacklevel=4)
            return False
        coef, worst = max(wrong)
        row = self.selection_.index[self.selection_.feature == worst][0]
        self.selection_.loc[row, ["selected", "reason"]] = (
            False, f"coefficient {coef:+.4f} contradicts its WoE trend (sign check, refit)")
        selected.remove(worst)
        return True

    def _fit_with_sign_check(self, W, col, selected, y01, w):
        """Fits while characteristics with a wrong sign are dropped."""
        selected = list(selected)
        while True:
            fit = fit_logit(W[:, [col[c] for c in selected]], y01, sample_weight=w, C=self.C, with_cov=False)
            wrong = self._wrong_signs(fit, selected)
            if not wrong or not self._drop_for_sign(wrong, selected):
                return fit, selected

    def _final_fit(self, index, W, col, selected, rules, y01, w, fit):
        """The exact maximum-likelihood fit, warm-started, with the sign check repeated on it."""
        selected = list(selected)
        init = np.concatenate([[fit.intercept], fit.coef])
        while True:
            D = W[:, [col[c] for c in selected]]
            if rules:
                D = np.column_stack([D, self._rule_matrix(index, rules)])
            fit = fit_logit(D, y01, sample_weight=w, C=self.C, init=init)
            wrong = self._wrong_signs(fit, selected)
            before = list(selected)
            if not wrong or not self._drop_for_sign(wrong, selected):
                return fit, selected, rules
            # warm start without the dropped column; rules stay (they read bins, used or not)
            gone = 1 + before.index(next(c for c in before if c not in selected))
            init = np.delete(np.concatenate([[fit.intercept], fit.coef]), gone)

    def _add_rules(self, index, W, col, selected, y01, w, fit):
        rules: list[Rule] = []
        if self.max_rules == 0:
            return rules, fit
        index = {c: index[c] for c in selected}
        n_bins = {c: self.binnings_[c].n_bins for c in selected}
        base = W[:, [col[c] for c in selected]]
        used: set[tuple[str, str]] = set()
        D = base
        search = RuleSearch(index, n_bins, w, min_support=self.rule_min_support)
        for _round in range(self._rule_rounds):
            p = special.expit(fit.intercept + D @ fit.coef)
            new = search.best(y01, p, exclude_pairs=used,
                              max_new=min(self._rule_batch, self.max_rules - len(rules)))
            if not new:
                break
            trial = rules + [r for _, r in new]
            D = np.column_stack([base, self._rule_matrix(index, trial)])
            init = np.concatenate([[fit.intercept], fit.coef, np.zeros(len(new))])
            # full-data Newton steps from the warm start: the next round's score tests read this
            # fit's residuals, which must not carry a subsample's noise (it proposes rules that
            # only correct the approximation); two steps from a warm start are near-exact
            fit = fit_logit(D, y01, sample_weight=w, C=self.C, init=init, max_iter=2, with_cov=False)
            rules = trial
            used |= {(r.feature_a, r.feature_b) for _, r in new}
            if len(rules) >= self.max_rules:
                break
        if rules:  # drop rules the joint fit no longer supports (Wald test at 0.1 %)
            fit = with_covariance(fit, D, sample_weight=w, C=self.C)
            z = fit.inference()["z"][1 + base.shape[1]:]
            kept = [i for i, zz in enumerate(z) if zz * zz > 10.83]
            if len(kept) < len(rules):
                init = np.concatenate([[fit.intercept], fit.coef[: base.shape[1]],
                                       fit.coef[base.shape[1]:][kept]])
                rules = [rules[i] for i in kept]
                D = np.column_stack([base, self._rule_matrix(index, rules)]) if rules else base
                fit = fit_logit(D, y01, sample_weight=w, C=self.C, init=init, with_cov=False)
        return rules, fit

    def _rule_matrix(self, index, rules):
        """Indicator columns of the rules (cached per rule within one fit)."""
        cache = self.__dict__.setdefault("_rule_cols", {})
        cols = []
        for r in rules:
            if r not in cache:
                cache[r] = r.mask(index[r.feature_a], index[r.feature_b], self.binnings_[r.feature_a].n_bins,
                                  self.binnings_[r.feature_b].n_bins).astype(float)
            cols.append(cache[r])
        return np.column_stack(cols)


"""``Scorecard.fit`` for ``form="penalised"``: fine bins, fitted per-bin log-odds, rules.

The characteristics are the ones the classic steps select (binning, IV, correlation, VIF on the
coarse WoE); each is then re-binned finely (the quantile pre-bins, merged only to the minimum bin
size) and its per-bin log-odds are fitted by :mod:`lendscore.model._penalised`, with the trend the
coarse binning declared or detected as a constraint (ascending / descending; a peak or valley
shape is left to the fusion penalty). Interaction rules enter as in the classic form (Bonferroni
score tests on the fitted model's residuals), on the fine bins, and are refitted jointly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import special

from lendscore.features.binning import fit_feature_binning
from lendscore.features.rules import Rule, RuleSearch
from lendscore.model import _penalised as pen
from lendscore.model._penalised import Additive

if TYPE_CHECKING:
    from lendscore.features.binning import FeatureBinning

__all__ = ["PenalisedMixin"]

# log-odds of a bin follow the event rate: an ascending event rate is rising log-odds
_CONSTRAINT = {"ascending": "ascending", "descending": "descending"}


class PenalisedMixin:
    """The penalised form's steps; they read the estimator's parameters and fitted binnings."""

    _penalty_folds = 5
    _rule_rounds = 4
    _rule_batch = 4

    penalty: str | float
    max_prebins: int
    max_rules: int
    rule_min_support: float
    kinds_: dict[str, str]
    binnings_: dict[str, FeatureBinning]

    def _fit_penalised(self, Xf: pd.DataFrame, y01, w, selected: list[str], min_bin: float, weighted: bool):
        """Fine bins, penalty, rules and the final fit; sets ``binnings_`` of the selected
        characteristics (fine, with ``log_odds``), ``rules_``, ``penalty_`` and ``penalty_cv_``.
        Returns (intercept, coefficients, converged, inference table)."""
        fine = {}
        for c in selected:
            coarse = self.binnings_[c]
            fine[c] = fit_feature_binning(
                c,
                Xf[c],
                y01,
                kind=self.kinds_[c],
                trend=coarse.trend,
                special_codes=list(coarse.special_codes) if coarse.kind == "numeric" else None,
                max_prebins=self.max_prebins,
                min_bin_size=min_bin,
                max_n_bins=self.max_prebins,
                sample_weight=w if weighted else None,
                fine=True,
            )
        index = [fine[c].bin_index(Xf[c]) for c in selected]
        n_bins = [fine[c].n_bins for c in selected]
        shapes = [_CONSTRAINT.get(fine[c].trend, "none") for c in selected]
        counts = [np.asarray(fine[c].n_event) + np.asarray(fine[c].n_nonevent) for c in selected]
        folds = self._penalty_folds
        data = pen.compress(index, [], y01, w, folds)
        model = Additive.build(n_bins, shapes, counts, 0)
        if self.penalty == "cv":
            lam, cv, fold_fits = pen.choose_penalty(model, data, folds)
        else:
            lam, cv, fold_fits = float(self.penalty) * pen.information(data), {}, []
        params, converged = pen.fit_additive(model, data, lam)
        main_model, main_data = model, data
        rules = self._penalised_rules(selected, index, n_bins, y01, w, model, params)
        if rules:
            masks = [self._rule_mask(r, selected, index, n_bins) for r in rules]
            data = pen.compress(index, masks, y01, w, folds)
            model = Additive.build(n_bins, shapes, counts, len(rules))
            params, converged = pen.fit_additive(model, data, lam, init=np.concatenate([params, np.zeros(len(rules))]))
        b0, thetas, rule_coef = model.split(params)
        for c, th in zip(selected, thetas, strict=True):
            fine[c].log_odds = [float(v) for v in th]
            self.binnings_[c] = fine[c]
        self.rules_ = rules
        self.penalty_ = lam
        self.penalty_cv_ = cv
        edf = pen.edf_by_term(model, data, params, lam)
        drop = _drop_one(main_model, main_data, fold_fits)
        coef = np.concatenate([np.ones(len(selected)), rule_coef])
        terms = ["(intercept)"] + list(selected) + [r.name for r in rules]
        table = pd.DataFrame(
            {
                "coef": [b0, *coef],
                "std_err": np.nan,
                "z": np.nan,
                "p_value": np.nan,
                "ci_low": np.nan,
                "ci_high": np.nan,
                "edf": [1.0, *edf, *([1.0] * len(rules))],
                "drop_one_deviance": [np.nan, *drop, *([np.nan] * len(rules))],
            },
            index=pd.Index(terms, name="term"),
        )
        table["penalised"] = True
        return b0, coef, converged, table

    @staticmethod
    def _rule_mask(r: Rule, selected, index, n_bins) -> np.ndarray:
        a, b = selected.index(r.feature_a), selected.index(r.feature_b)
        return r.mask(index[a], index[b], n_bins[a], n_bins[b])

    def _penalised_rules(self, selected, index, n_bins, y01, w, model: Additive, params) -> list[Rule]:
        """Rules chosen by the classic score tests against the penalised main effects' residuals
        (the main effects held fixed while rules are screened, then everything refitted)."""
        if self.max_rules == 0 or len(selected) < 2:
            return []
        b0, thetas, _ = model.split(params)
        base = b0 + sum(th[ix] for th, ix in zip(thetas, index, strict=True))
        eta = base
        search = RuleSearch(
            dict(zip(selected, index, strict=True)),
            dict(zip(selected, n_bins, strict=True)),
            w,
            min_support=self.rule_min_support,
        )
        rules: list[Rule] = []
        used: set[tuple[str, str]] = set()
        masks: list[np.ndarray] = []
        for _round in range(self._rule_rounds):
            new = search.best(
                y01,
                special.expit(eta),
                exclude_pairs=used,
                max_new=min(self._rule_batch, self.max_rules - len(rules)),
            )
            if not new:
                break
            for _, r in new:
                rules.append(r)
                used.add((r.feature_a, r.feature_b))
                masks.append(self._rule_mask(r, selected, index, n_bins))
            # the rules' coefficients on the main effects as an offset: cheap and exact enough for
            # the next round's score tests (the final fit is joint)
            R = np.column_stack(masks).astype(float)
            eta = base + R @ _fit_offset_coefs(R, y01, w, base)
            if len(rules) >= self.max_rules:
                break
        return rules


def _fit_offset_coefs(R: np.ndarray, y, w, offset) -> np.ndarray:
    """Coefficients of the indicator columns ``R`` in a logistic model with a fixed offset."""
    from scipy import optimize

    def f(c):
        eta = offset + R @ c
        nll = float(np.sum(w * (np.logaddexp(0.0, eta) - y * eta)))
        return nll + pen._RULE_RIDGE * float(c @ c), R.T @ (w * (special.expit(eta) - y)) + 2 * pen._RULE_RIDGE * c

    return optimize.minimize(f, np.zeros(R.shape[1]), jac=True, method="L-BFGS-B").x


def _drop_one(model: Additive, data, fold_fits: list[np.ndarray]) -> list[float]:
    """Per characteristic: held-out deviance increase (summed over the K cross-validation folds of
    the main effects at the chosen penalty) when its points are set to its average, each fold's
    model fitted without that fold (other terms not refitted). NaN with a fixed penalty (no folds)."""
    if not fold_fits:
        return [float("nan")] * len(model.bases)
    out = np.zeros(len(model.bases))
    for k, p_k in enumerate(fold_fits):
        held = data.fold == k
        base = pen.deviance(model, data, p_k, held)
        at = 1
        for j, B in enumerate(model.bases):
            q = p_k.copy()
            q[at : at + B.shape[1]] = 0.0
            out[j] += pen.deviance(model, data, q, held) - base
            at += B.shape[1]
    return [float(v) for v in out]

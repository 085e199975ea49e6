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
from threadpoolctl import threadpool_limits

from lendscore.features.binning import binning_from_counts
from lendscore.features.rules import Rule, RuleSearch
from lendscore.model import _penalised as pen
from lendscore.model._penalised import Additive, Compressed
from lendscore.model.counts import PatternCounts, fold_of_rows

if TYPE_CHECKING:
    from lendscore.features.binning import FeatureBinning, PrebinCounts

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
    rules_: list[Rule]
    max_rules: int
    rule_min_support: float
    kinds_: dict[str, str]
    binnings_: dict[str, FeatureBinning]

    def _fit_penalised(self, Xf: pd.DataFrame, y01, w, prebins: dict[str, PrebinCounts], selected, min_bin):
        """Fine bins, penalty, rules, the final fit, points and cut-off, from the training rows
        ``Xf`` / ``y01`` (weights ``w``, None: unweighted) and the coarse fit's pre-bin counts
        (fine bins: pre-bins merged only to ``min_bin``, a share or a weight of rows).
        Sets ``binnings_`` of the selected characteristics (fine, with ``log_odds``), ``rules_``,
        ``penalty_`` and ``penalty_scores_`` (each candidate penalty's criterion); returns (intercept, coefficients, converged, inference
        table, the fine bins' pattern counts)."""
        # the fit's dense algebra is on matrices of a few hundred rows: one BLAS thread is faster
        # there, and much faster on a busy machine, than a pool that contends for the cores
        with threadpool_limits(limits=1, user_api="blas"):
            return self._fit_penalised_rows(Xf, y01, w, prebins, selected, min_bin)

    def _fit_penalised_rows(self, Xf, y01, w, prebins, selected, min_bin):
        selected = list(selected)
        fine = {}
        for c in selected:
            fine[c] = binning_from_counts(
                c,
                prebins[c],
                trend=self.binnings_[c].trend,
                min_bin_size=min_bin,
                max_n_bins=self.max_prebins,
                fine=True,
            )
        n_bins = [fine[c].n_bins for c in selected]
        shapes = [_CONSTRAINT.get(fine[c].trend, "none") for c in selected]
        counts = [np.asarray(fine[c].n_event) + np.asarray(fine[c].n_nonevent) for c in selected]
        folds = self._penalty_folds
        # the fine bins' pattern counts, with the penalty's cross-validation folds as their folds
        patterns = PatternCounts.from_rows(
            {c: fine[c].bin_index(Xf[c]) for c in selected}, fold_of_rows(len(y01), folds), y01, w
        )
        data = Compressed.from_patterns(patterns, selected)
        index = [data.idx[:, j] for j in range(len(selected))]
        model = Additive.build(n_bins, shapes, counts, 0)
        design = pen.Design(model, data)
        if self.penalty in ("aic", "cv"):
            choice = pen.choose_penalty(design, str(self.penalty), folds)
            lam, scores, params, converged, H = choice.lam, choice.scores, choice.params, choice.converged, choice.H
        else:
            lam, scores = float(self.penalty) * pen.information(data), {}
            params, converged, H = pen.newton(design, lam)
        drop = _drop_one(design, params)
        rules = self._penalised_rules(selected, index, n_bins, data, model, params)
        if rules:
            data = data.with_rules([self._rule_mask(r, selected, index, n_bins) for r in rules])
            model = Additive.build(n_bins, shapes, counts, len(rules))
            design = pen.Design(model, data)
            params, converged, H = pen.newton(design, lam, init=np.concatenate([params, np.zeros(len(rules))]))
        b0, thetas, rule_coef = model.split(params)
        for c, th in zip(selected, thetas, strict=True):
            fine[c].log_odds = [float(v) for v in th]
            self.binnings_[c] = fine[c]
        self.rules_ = rules
        self.penalty_ = lam
        self.penalty_scores_ = scores
        edf = pen.edf_by_term(design, params, H, lam)
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
        return b0, coef, converged, table, patterns

    @staticmethod
    def _rule_mask(r: Rule, selected, index, n_bins) -> np.ndarray:
        a, b = selected.index(r.feature_a), selected.index(r.feature_b)
        return r.mask(index[a], index[b], n_bins[a], n_bins[b])

    def _penalised_rules(self, selected, index, n_bins, data: Compressed, model: Additive, params) -> list[Rule]:
        """Rules chosen by the classic score tests against the penalised main effects' residuals
        (the main effects held fixed while rules are screened, then everything refitted), on the
        patterns ``data`` (``index``: their fine bins per characteristic)."""
        if self.max_rules == 0 or len(selected) < 2:
            return []
        y01, w = data.e / data.t, data.t
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
    """Coefficients of the indicator columns ``R`` in a logistic model with a fixed offset (and
    the rules' light ridge): Newton's method with step halving on these few columns."""
    c = np.zeros(R.shape[1])
    ridge = pen._RULE_RIDGE

    def value(c):
        eta = offset + R @ c
        return float(np.sum(w * (np.logaddexp(0.0, eta) - y * eta))) + ridge * float(c @ c)

    f = value(c)
    for _ in range(50):
        p = special.expit(offset + R @ c)
        g = R.T @ (w * (p - y)) + 2 * ridge * c
        H = R.T @ (R * (w * p * (1 - p))[:, None]) + 2 * ridge * np.eye(len(c))
        step = np.linalg.solve(H, -g)
        alpha = 1.0
        while value(c + alpha * step) > f + 1e-4 * alpha * float(g @ step) and alpha > 1e-8:
            alpha *= 0.5
        c = c + alpha * step
        f_new = value(c)
        if f - f_new <= 1e-10 * max(1.0, abs(f)):
            break
        f = f_new
    return c


def _drop_one(design: pen.Design, params: np.ndarray) -> list[float]:
    """Per characteristic: the training deviance gained when its points are set to its average
    (other terms not refitted), beside its edf in the table (a term pays its way under the
    criterion that chose the penalty when the gain exceeds ``2 * edf``)."""
    data = design.data
    base = pen.deviance(design, data, params)
    out, at = [], 1
    for B in design.model.bases:
        q = params.copy()
        q[at : at + B.shape[1]] = 0.0
        out.append(pen.deviance(design, data, q) - base)
        at += B.shape[1]
    return out

"""The penalised scorecard form: per-bin log-odds of fine bins, fitted directly.

Each characteristic keeps bins and points, but its per-bin log-odds are free parameters of one
additive logistic model (instead of one coefficient times a coarse bin's WoE)::

    logit P(bad) = b0 + sum_j theta_j[bin_j] + sum_r c_r * rule_r

Within characteristic *j* the regular bins are ordered, and ``theta_j`` is parametrised by its
increments ``d = theta[i+1] - theta[i]``: the fusion penalty ``lam * sum d**2`` (squared
differences of adjacent bins) is then a ridge on ``d``, and a monotone trend is the bound
``d >= 0`` (ascending) or ``d <= 0`` (descending). The regular bins are centred on their training
rows' mean, and the Special and Missing bins are offsets from it with the same ridge (a bin with
few rows stays near the characteristic's average; one without rows scores exactly that). The
penalty ``lam`` is one number for all characteristics, chosen on a fixed grid scaled by the
data's binomial information (no per-dataset tuning).

The model is fitted on the pattern counts of the fine bins (:class:`PatternCounts`: one entry
per distinct fold and bins, with event and total weights) by Newton's method: each step
minimises the penalised likelihood's quadratic model within the monotone bounds (a small dense
box-constrained quadratic programme over the parameters, solved by projected Newton on its
free set), then a backtracking line search on the true objective. The information matrix costs
one weighted bincount per pair of characteristics, whatever the number of rows. Why by hand:
scikit-learn's and statsmodels' logistic regressions take neither bound constraints nor a
difference penalty, and scipy's L-BFGS-B needed hundreds of passes over the patterns per fit
where Newton needs a handful.

The penalty is chosen on the training rows only, by default with Akaike's criterion
``deviance + 2 * edf`` along a fixed grid (warm-started from the strongest penalty down), the
effective degrees of freedom being the trace of ``(H + P)^-1 H`` over the parameters not held at
a bound; ``"cv"`` (K-fold held-out deviance on the same grid) remains available.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy import linalg, special

if TYPE_CHECKING:
    from lendscore.model.counts import PatternCounts

__all__ = ["PENALTY_GRID", "Additive", "Compressed", "Design", "choose_penalty", "fit_additive", "information"]

PENALTY_GRID = (3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1)
"""Candidate penalties, as multiples of the training data's binomial information
``sum(w) * p * (1 - p)`` (p the overall event rate): the fusion strength then reads the same on a
small and a large sample relative to what the data can resolve."""

_RULE_RIDGE = 1.0  # a light ridge keeps rule coefficients finite when a rule separates the data


@dataclass(frozen=True)
class Compressed:
    """The training patterns the additive model is fitted on: ``idx`` (G x p bin indices),
    ``rules`` (G x r rule indicators), event and total weights per pattern, and each pattern's
    cross-validation fold (all zero without folds)."""

    idx: np.ndarray
    rules: np.ndarray
    e: np.ndarray
    t: np.ndarray
    fold: np.ndarray

    @classmethod
    def from_patterns(cls, patterns: PatternCounts, names: list[str]) -> Compressed:
        """The patterns of weight > 0 of ``patterns`` (a :class:`PatternCounts` of the fine bins
        ``names``, with the penalty's cross-validation folds as its folds)."""
        live = patterns.n_total > 0
        idx = np.column_stack([patterns.index[c][live] for c in names]) if names else np.zeros((int(live.sum()), 0))
        fold = np.zeros(int(live.sum()), dtype=np.intp) if patterns.fold is None else patterns.fold[live]
        return cls(idx.astype(np.intp), np.zeros((len(fold), 0)), patterns.n_event[live], patterns.n_total[live], fold)

    def with_rules(self, masks: list[np.ndarray]) -> Compressed:
        """The same patterns with rule indicator columns (one 0/1 mask per rule, per pattern)."""
        R = np.column_stack(masks).astype(float) if masks else np.zeros((len(self.e), 0))
        return Compressed(self.idx, R, self.e, self.t, self.fold)


@dataclass(frozen=True)
class Additive:
    """The parametrisation of the additive model: per characteristic a basis ``B_j`` (bins x
    parameters, ``theta_j = B_j @ params_j``) and bounds; then the rules' coefficients."""

    bases: tuple[np.ndarray, ...]
    bounds: tuple[tuple[float | None, float | None], ...]
    n_rules: int

    @classmethod
    def build(cls, n_bins: list[int], shapes: list[str], counts: list[np.ndarray], n_rules: int) -> Additive:
        """``shapes[j]``: "ascending" / "descending" (log-odds rise / fall with the bin index) or
        anything else (free); ``counts[j]``: training weight per bin (centring weights)."""
        bases, bounds = [], []
        for nb, shape, cnt in zip(n_bins, shapes, counts, strict=True):
            k = nb - 2
            B = np.zeros((nb, k + 1))
            for i in range(1, k):
                B[i, :i] = 1.0  # theta_i = d_0 + ... + d_{i-1}
            reg = np.asarray(cnt[:k], dtype=float)
            share = reg / reg.sum() if reg.sum() > 0 else np.full(k, 1.0 / k)
            B[:k] -= share @ B[:k]  # regular bins centred on their training mean
            B[k, k - 1] = 1.0  # Special: offset from that mean
            B[k + 1, k] = 1.0  # Missing
            lo, hi = {"ascending": (0.0, None), "descending": (None, 0.0)}.get(shape, (None, None))
            bounds += [(lo, hi)] * (k - 1) + [(None, None)] * 2
            bases.append(B)
        bounds += [(None, None)] * n_rules
        return cls(tuple(bases), tuple(bounds), n_rules)

    @property
    def n_params(self) -> int:
        return 1 + sum(B.shape[1] for B in self.bases) + self.n_rules

    def split(self, params: np.ndarray) -> tuple[float, list[np.ndarray], np.ndarray]:
        """(intercept, per-bin log-odds of each characteristic, rule coefficients)."""
        out, at = [], 1
        for B in self.bases:
            out.append(B @ params[at : at + B.shape[1]])
            at += B.shape[1]
        return float(params[0]), out, params[at:]

    def penalty_weights(self, lam: float) -> np.ndarray:
        pw = np.full(self.n_params, lam)
        pw[0] = 0.0
        if self.n_rules:
            pw[-self.n_rules :] = _RULE_RIDGE
        return pw


class Design:
    """One additive model on one set of patterns, with what every fit on them reuses: the bin
    codes of each pair of characteristics (for the information matrix) and the map from the
    parameters to bin space."""

    def __init__(self, model: Additive, data: Compressed):
        self.model, self.data = model, data
        self.nb = [B.shape[0] for B in model.bases]
        p = len(self.nb)
        self.at = np.cumsum([1, *self.nb])  # bin-space offset of each characteristic
        self.pairs = [(j, k, data.idx[:, j] * self.nb[k] + data.idx[:, k]) for j in range(p) for k in range(j + 1, p)]
        # each rule's patterns (rules are sparse indicators) and their bins per characteristic
        self.rule_rows = [np.flatnonzero(data.rules[:, q]) for q in range(data.rules.shape[1])]
        self.rule_bins = [data.idx[rows] for rows in self.rule_rows]
        r = model.n_rules
        T = np.zeros((int(self.at[-1]) + r, model.n_params))
        T[0, 0] = 1.0
        c0 = 1
        for j, B in enumerate(model.bases):
            T[self.at[j] : self.at[j + 1], c0 : c0 + B.shape[1]] = B
            c0 += B.shape[1]
        T[int(self.at[-1]) :, c0:] = np.eye(r)
        self.T = T
        self.lo = np.array([-np.inf] + [-np.inf if b[0] is None else b[0] for b in model.bounds])
        self.hi = np.array([np.inf] + [np.inf if b[1] is None else b[1] for b in model.bounds])

    def eta(self, params: np.ndarray) -> np.ndarray:
        b0, thetas, c = self.model.split(params)
        eta = np.full(len(self.data.t), b0)
        for j, th in enumerate(thetas):
            eta += th[self.data.idx[:, j]]
        if len(c):
            eta += self.data.rules @ c
        return eta

    def nll(self, params: np.ndarray, e: np.ndarray, t: np.ndarray) -> float:
        """Negative log-likelihood of the patterns with event / total weights ``e`` / ``t``."""
        eta = self.eta(params)
        return float(np.sum(t * np.logaddexp(0.0, eta) - e * eta))

    def value_grad(self, params, e, t, pw) -> tuple[float, np.ndarray, np.ndarray]:
        """Penalised objective, its gradient, and the fitted probabilities."""
        eta = self.eta(params)
        prob = special.expit(eta)
        f = float(np.sum(t * np.logaddexp(0.0, eta) - e * eta)) + float(np.sum(pw * params * params))
        r = t * prob - e
        g = np.empty_like(params)
        g[0] = r.sum()
        at = 1
        for j, B in enumerate(self.model.bases):
            g[at : at + B.shape[1]] = np.bincount(self.data.idx[:, j], weights=r, minlength=B.shape[0]) @ B
            at += B.shape[1]
        if self.model.n_rules:
            g[at:] = r @ self.data.rules
        return f, g + 2.0 * pw * params, prob

    def information(self, v: np.ndarray) -> np.ndarray:
        """The Fisher information in the parameters for pattern variances ``v = t p (1 - p)``,
        built in bin space from weighted (joint) bin counts: no pattern-by-parameter design."""
        at, nb, R = self.at, self.nb, self.data.rules
        n = int(at[-1]) + self.model.n_rules
        Hb = np.zeros((n, n))
        Hb[0, 0] = v.sum()
        for j in range(len(nb)):
            col = np.bincount(self.data.idx[:, j], weights=v, minlength=nb[j])
            Hb[0, at[j] : at[j + 1]] = Hb[at[j] : at[j + 1], 0] = col
            Hb[at[j] : at[j + 1], at[j] : at[j + 1]] = np.diag(col)
            for q, (rows, bins) in enumerate(zip(self.rule_rows, self.rule_bins, strict=True)):
                rc = np.bincount(bins[:, j], weights=v[rows] * R[rows, q], minlength=nb[j])
                Hb[at[j] : at[j + 1], at[-1] + q] = Hb[at[-1] + q, at[j] : at[j + 1]] = rc
        for j, k, code in self.pairs:
            cross = np.bincount(code, weights=v, minlength=nb[j] * nb[k]).reshape(nb[j], nb[k])
            Hb[at[j] : at[j + 1], at[k] : at[k + 1]] = cross
            Hb[at[k] : at[k + 1], at[j] : at[j + 1]] = cross.T
        if R.shape[1]:
            Rv = R * v[:, None]
            Hb[at[-1] :, at[-1] :] = R.T @ Rv
            Hb[0, at[-1] :] = Hb[at[-1] :, 0] = Rv.sum(0)
        return self.T.T @ Hb @ self.T


def _box_qp(M: np.ndarray, g: np.ndarray, lo: np.ndarray, hi: np.ndarray, tol: float) -> np.ndarray:
    """argmin ``g.s + s.M.s / 2`` subject to ``lo <= s <= hi`` (``M`` positive definite, ``lo <= 0
    <= hi``): projected Newton (Bertsekas, 1982) with the bound-held variables fixed and a
    backtracking search along the projected path."""
    s = np.zeros_like(g)

    def q(x):
        return float(g @ x + 0.5 * x @ (M @ x))

    for _ in range(100):
        grad = g + M @ s
        held = ((s <= lo + 1e-12) & (grad > 0)) | ((s >= hi - 1e-12) & (grad < 0))
        free = ~held
        if np.max(np.abs(grad[free]), initial=0.0) <= tol:
            break
        d = np.zeros_like(s)
        d[free] = -linalg.solve(M[np.ix_(free, free)], grad[free], assume_a="pos")
        q0, alpha = q(s), 1.0
        while True:
            trial = np.clip(s + alpha * d, lo, hi)
            if q(trial) <= q0 + 1e-4 * float(grad @ (trial - s)) or alpha < 1e-10:
                break
            alpha *= 0.5
        if np.array_equal(trial, s):
            break
        s = trial
    return s


def fit_additive(
    model: Additive, data: Compressed, lam: float, *, mask: np.ndarray | None = None, init: np.ndarray | None = None
) -> tuple[np.ndarray, bool]:
    """Penalised maximum likelihood on the patterns in ``mask`` (all when None): (params, converged)."""
    params, ok, _ = newton(Design(model, data), lam, mask=mask, init=init)
    return params, ok


def newton(
    design: Design, lam: float, *, mask: np.ndarray | None = None, init: np.ndarray | None = None, max_iter: int = 50
) -> tuple[np.ndarray, bool, np.ndarray]:
    """(params, converged, data information at the solution) of the penalised fit."""
    d = design.data
    e = d.e if mask is None else np.where(mask, d.e, 0.0)
    t = d.t if mask is None else np.where(mask, d.t, 0.0)
    x = np.zeros(design.model.n_params) if init is None else np.asarray(init, dtype=float).copy()
    if init is None:
        x[0] = special.logit(min(max(e.sum() / t.sum(), 1e-6), 1 - 1e-6))
    x = np.clip(x, design.lo, design.hi)
    pw = design.model.penalty_weights(lam)
    f, g, prob = design.value_grad(x, e, t, pw)
    scale = max(1.0, float(t.sum()))
    converged = False
    for _ in range(max_iter):
        H = design.information(t * prob * (1.0 - prob))
        M = H + np.diag(2.0 * pw)
        s = _box_qp(M, g, design.lo - x, design.hi - x, tol=1e-9 * scale)
        decrease = -float(g @ s + 0.5 * s @ (M @ s))  # what the quadratic model promises
        if decrease <= 1e-10 * scale:
            converged = True
            break
        alpha, slope = 1.0, float(g @ s)
        while True:
            x_new = np.clip(x + alpha * s, design.lo, design.hi)  # inside the bounds but for rounding
            f_new, g_new, p_new = design.value_grad(x_new, e, t, pw)
            if f_new <= f + 1e-4 * alpha * slope:
                break
            alpha *= 0.5
            if alpha < 1e-8:  # no decrease along a descent direction: at the optimum to rounding
                return x, decrease <= 1e-6 * scale, H
        x, f, g, prob = x_new, f_new, g_new, p_new
    else:
        H = design.information(t * prob * (1.0 - prob))
    return x, converged, H


def deviance(model: Additive | Design, data: Compressed, params: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Binomial deviance of the patterns in ``mask`` under ``params``."""
    design = model if isinstance(model, Design) else Design(model, data)
    e = data.e if mask is None else np.where(mask, data.e, 0.0)
    t = data.t if mask is None else np.where(mask, data.t, 0.0)
    return 2.0 * design.nll(params, e, t)


def information(data: Compressed) -> float:
    """``sum(w) * p * (1 - p)``: the scale the penalty grid is expressed in."""
    p = data.e.sum() / data.t.sum()
    return float(data.t.sum() * p * (1.0 - p))


def edf(design: Design, params: np.ndarray, H: np.ndarray, lam: float) -> np.ndarray:
    """Effective degrees of freedom of every parameter: the diagonal of ``(H + P)^-1 H`` (H the
    Fisher information in the parameters, P the penalty's Hessian), with parameters held at a
    monotone bound counted as fixed (0 degrees of freedom)."""
    pw = design.model.penalty_weights(lam)
    free = (params > design.lo + 1e-9) & (params < design.hi - 1e-9)
    free[0] = True
    # P is diagonal, so diag((H + P)^-1 H) = 1 - diag((H + P)^-1) * diag(P)
    inv = linalg.cho_solve(linalg.cho_factor(H[np.ix_(free, free)] + np.diag(2.0 * pw[free])), np.eye(int(free.sum())))
    out = np.zeros(len(params))
    out[free] = 1.0 - np.diag(inv) * 2.0 * pw[free]
    return out


def edf_by_term(design: Design, params: np.ndarray, H: np.ndarray, lam: float) -> list[float]:
    """:func:`edf` summed per characteristic."""
    diag = edf(design, params, H, lam)
    out, pos = [], 1
    for B in design.model.bases:
        out.append(float(diag[pos : pos + B.shape[1]].sum()))
        pos += B.shape[1]
    return out


@dataclass(frozen=True)
class PenaltyChoice:
    """The chosen penalty, every candidate's criterion, and the fit at the chosen penalty."""

    lam: float
    scores: dict[float, float]
    params: np.ndarray
    converged: bool
    H: np.ndarray


def choose_penalty(design: Design, how: str, folds: int = 5) -> PenaltyChoice:
    """The penalty of :data:`PENALTY_GRID` (times :func:`information`) with the least criterion:
    ``how="aic"``: training deviance + 2 * total edf; ``how="cv"``: K-fold held-out deviance
    (the patterns' folds). Along the grid, from the strongest penalty down, each fit starts from
    the previous one."""
    data = design.data
    scale = information(data)
    scores: dict[float, float] = {}
    fits: dict[float, tuple[np.ndarray, bool, np.ndarray]] = {}
    inits: dict[int, np.ndarray | None] = dict.fromkeys(range(-1, folds))
    for g in sorted(PENALTY_GRID, reverse=True):
        lam = g * scale
        if how == "cv":
            total = 0.0
            for k in range(folds):
                held = data.fold == k
                params, _, _ = newton(design, lam, mask=~held, init=inits[k])
                inits[k] = params
                total += deviance(design, data, params, held)
            scores[lam] = total
        params, ok, H = newton(design, lam, init=inits[-1])
        inits[-1] = params
        fits[lam] = (params, ok, H)
        if how == "aic":
            scores[lam] = deviance(design, data, params) + 2.0 * float(edf(design, params, H, lam).sum())
    best = min(scores, key=lambda lam_: (scores[lam_], -lam_))
    return PenaltyChoice(best, scores, *fits[best])

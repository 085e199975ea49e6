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
penalty ``lam`` is one number for all characteristics, chosen by K-fold cross-validated deviance
on the training rows over a fixed grid scaled by the data's binomial information (no per-dataset
tuning).

The model is fitted on compressed counts (one row per distinct pattern of bins, with event and
total weights), with scipy's L-BFGS-B (bounds give the monotone constraints). Why by hand:
scikit-learn's and statsmodels' logistic regressions take neither bound constraints nor a
difference penalty; the objective here is a few lines and its gradient is a weighted bincount
per characteristic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, special

__all__ = ["Additive", "Compressed", "compress", "fit_additive", "choose_penalty", "PENALTY_GRID"]

PENALTY_GRID = (3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1)
"""Candidate penalties, as multiples of the training data's binomial information
``sum(w) * p * (1 - p)`` (p the overall event rate): the fusion strength then reads the same on a
small and a large sample relative to what the data can resolve."""

_RULE_RIDGE = 1.0  # a light ridge keeps rule coefficients finite when a rule separates the data


@dataclass(frozen=True)
class Compressed:
    """Distinct bin patterns: ``idx`` (G x p bin indices), ``rules`` (G x r indicators), event
    and total weights per pattern, and the cross-validation fold of each pattern."""

    idx: np.ndarray
    rules: np.ndarray
    e: np.ndarray
    t: np.ndarray
    fold: np.ndarray


def compress(index: list[np.ndarray], rules: list[np.ndarray], y, w, folds: int, seed: int = 0) -> Compressed:
    """One row per distinct (bins, rule indicators, fold) pattern with its event and total weight.

    Rows are assigned to ``folds`` folds by a seeded generator first, so every pattern belongs to
    one fold and held-out deviance is computed on patterns."""
    n = len(y)
    fold = np.random.default_rng(seed).integers(0, max(folds, 1), n)
    cols = [fold.astype(np.int64)] + [np.asarray(i, dtype=np.int64) for i in index]
    cols += [np.asarray(r, dtype=np.int64) for r in rules]
    key: np.ndarray | None = np.zeros(n, dtype=np.int64)
    radix = 1
    for c in cols:
        m = int(c.max()) + 1 if len(c) else 1
        if key is None or radix * m >= 2**62:  # too many combinations for one integer: rows instead
            key = None
            break
        key += c * radix
        radix *= m
    if key is None:
        _, first, inv = np.unique(np.column_stack(cols), axis=0, return_index=True, return_inverse=True)
    else:
        _, first, inv = np.unique(key, return_index=True, return_inverse=True)
    inv = inv.ravel()
    e = np.bincount(inv, weights=w * y)
    t = np.bincount(inv, weights=w)
    idx = np.column_stack([np.asarray(i)[first] for i in index]) if index else np.zeros((len(first), 0), int)
    R = np.column_stack([np.asarray(r, dtype=float)[first] for r in rules]) if rules else np.zeros((len(first), 0))
    return Compressed(idx.astype(np.intp), R, e, t, fold[first])


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


def _objective(model: Additive, data: Compressed, mask: np.ndarray | None, pw: np.ndarray):
    idx = data.idx if mask is None else data.idx[mask]
    R = data.rules if mask is None else data.rules[mask]
    e = data.e if mask is None else data.e[mask]
    t = data.t if mask is None else data.t[mask]

    def f(params):
        b0, thetas, c = model.split(params)
        eta = np.full(len(e), b0)
        for j, th in enumerate(thetas):
            eta += th[idx[:, j]]
        if len(c):
            eta += R @ c
        nll = float(np.sum(t * np.logaddexp(0.0, eta) - e * eta))
        r = t * special.expit(eta) - e
        grad = np.empty_like(params)
        grad[0] = r.sum()
        at = 1
        for j, B in enumerate(model.bases):
            gt = np.bincount(idx[:, j], weights=r, minlength=B.shape[0])
            grad[at : at + B.shape[1]] = gt @ B
            at += B.shape[1]
        if len(c):
            grad[at:] = r @ R
        return nll + float(np.sum(pw * params * params)), grad + 2.0 * pw * params

    return f


def fit_additive(
    model: Additive, data: Compressed, lam: float, *, mask: np.ndarray | None = None, init: np.ndarray | None = None
) -> tuple[np.ndarray, bool]:
    """Penalised maximum likelihood on the patterns in ``mask`` (all when None): (params, converged)."""
    x0 = np.zeros(model.n_params) if init is None else np.asarray(init, dtype=float).copy()
    if init is None:
        t = data.t if mask is None else data.t[mask]
        e = data.e if mask is None else data.e[mask]
        rate = min(max(e.sum() / t.sum(), 1e-6), 1 - 1e-6)
        x0[0] = special.logit(rate)
    lo = np.array([-np.inf if b[0] is None else b[0] for b in model.bounds])
    hi = np.array([np.inf if b[1] is None else b[1] for b in model.bounds])
    x0[1:] = np.clip(x0[1:], lo, hi)
    res = optimize.minimize(
        _objective(model, data, mask, model.penalty_weights(lam)),
        x0,
        jac=True,
        method="L-BFGS-B",
        bounds=[(None, None), *model.bounds],
        options={"maxiter": 2000, "ftol": 1e-9, "gtol": 1e-5},
    )
    return res.x, bool(res.success)


def deviance(model: Additive, data: Compressed, params: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Binomial deviance of the patterns in ``mask`` under ``params``."""
    f = _objective(model, data, mask, np.zeros(model.n_params))
    return 2.0 * f(params)[0]


def information(data: Compressed) -> float:
    """``sum(w) * p * (1 - p)``: the scale the penalty grid is expressed in."""
    p = data.e.sum() / data.t.sum()
    return float(data.t.sum() * p * (1.0 - p))


def choose_penalty(model: Additive, data: Compressed, folds: int) -> tuple[float, dict[float, float], list[np.ndarray]]:
    """The penalty of :data:`PENALTY_GRID` (times :func:`information`) with the least K-fold
    held-out deviance; returns it and the held-out deviance of every candidate. Along the grid,
    from the strongest penalty down, each fold's fit starts from the previous one. Also returns
    the chosen penalty's fold fits (for held-out diagnostics without refitting)."""
    scale = information(data)
    cv: dict[float, float] = {}
    fold_fits: dict[float, list[np.ndarray]] = {}
    inits: dict[int, np.ndarray | None] = dict.fromkeys(range(folds))
    for g in sorted(PENALTY_GRID, reverse=True):
        lam = g * scale
        total = 0.0
        for k in range(folds):
            train = data.fold != k
            params, _ = fit_additive(model, data, lam, mask=train, init=inits[k])
            inits[k] = params
            fold_fits.setdefault(lam, []).append(params)
            total += deviance(model, data, params, ~train)
        cv[lam] = total
    best = min(cv, key=lambda lam_: (cv[lam_], -lam_))
    return best, cv, fold_fits[best]


def edf_by_term(model: Additive, data: Compressed, params: np.ndarray, lam: float) -> list[float]:
    """Effective degrees of freedom of each characteristic: the trace of its block of
    ``(H + P)^-1 H`` (H the Fisher information in the parameters, P the penalty's Hessian), with
    parameters held at a monotone bound counted as fixed (0 degrees of freedom)."""
    b0, thetas, c = model.split(params)
    eta = np.full(len(data.e), b0)
    for j, th in enumerate(thetas):
        eta += th[data.idx[:, j]]
    if len(c):
        eta += data.rules @ c
    p = special.expit(eta)
    v = data.t * p * (1.0 - p)
    # the information in bin space from weighted (joint) bin counts, then mapped to the
    # parameters through the bases: no dense pattern-by-parameter design is built
    nb = [B.shape[0] for B in model.bases]
    at = np.cumsum([1, *nb])
    r = model.n_rules
    Hb = np.zeros((at[-1] + r, at[-1] + r))
    Hb[0, 0] = v.sum()
    for j in range(len(nb)):
        ij = data.idx[:, j]
        col = np.bincount(ij, weights=v, minlength=nb[j])
        Hb[0, at[j] : at[j + 1]] = Hb[at[j] : at[j + 1], 0] = col
        Hb[at[j] : at[j + 1], at[j] : at[j + 1]] = np.diag(col)
        for k in range(j + 1, len(nb)):
            cross = np.bincount(ij * nb[k] + data.idx[:, k], weights=v, minlength=nb[j] * nb[k]).reshape(nb[j], nb[k])
            Hb[at[j] : at[j + 1], at[k] : at[k + 1]] = cross
            Hb[at[k] : at[k + 1], at[j] : at[j + 1]] = cross.T
        for q in range(r):
            rc = np.bincount(ij, weights=v * data.rules[:, q], minlength=nb[j])
            Hb[at[j] : at[j + 1], at[-1] + q] = Hb[at[-1] + q, at[j] : at[j + 1]] = rc
    if r:
        Rv = data.rules * v[:, None]
        Hb[at[-1] :, at[-1] :] = data.rules.T @ Rv
        Hb[0, at[-1] :] = Hb[at[-1] :, 0] = Rv.sum(0)
    T = np.zeros((Hb.shape[0], model.n_params))
    T[0, 0] = 1.0
    c0 = 1
    for j, B in enumerate(model.bases):
        T[at[j] : at[j + 1], c0 : c0 + B.shape[1]] = B
        c0 += B.shape[1]
    T[at[-1] :, c0:] = np.eye(r)
    H = T.T @ Hb @ T
    pw = model.penalty_weights(lam)
    free = np.ones(model.n_params, dtype=bool)
    for i, (lo, hi) in enumerate(model.bounds, start=1):
        if (lo is not None and params[i] <= lo + 1e-9) or (hi is not None and params[i] >= hi - 1e-9):
            free[i] = False
    Hf = H[np.ix_(free, free)]
    S = np.linalg.solve(Hf + np.diag(2.0 * pw[free]), Hf)
    diag = np.zeros(model.n_params)
    diag[free] = np.diag(S)
    out, pos = [], 1
    for B in model.bases:
        out.append(float(diag[pos : pos + B.shape[1]].sum()))
        pos += B.shape[1]
    return out

"""Logistic regression by Newton-Raphson with coefficient inference.

Why by hand: a scorecard needs standard errors, p-values and confidence intervals of every
coefficient (scikit-learn gives none) and refits in a loop when a sign check drops a
characteristic; importing statsmodels into the core for that would add a heavy dependency.
The fit is checked against statsmodels ``Logit`` in the test suite.

With ``C`` set, an L2 penalty ``||beta||^2 / (2 C)`` (intercept not penalised, as in
scikit-learn) is added; standard errors then come from the inverse penalised Hessian, an
approximation that the coefficient table says it is.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg, special, stats

__all__ = ["LogitFit", "fit_logit"]


@dataclass(frozen=True)
class LogitFit:
    intercept: float
    coef: np.ndarray
    cov: np.ndarray  # (p + 1, p + 1), intercept first
    n_iter: int
    converged: bool
    log_likelihood: float
    penalised: bool

    @property
    def std_err(self) -> np.ndarray:
        return np.sqrt(np.clip(np.diag(self.cov), 0.0, None))

    def inference(self, level: float = 0.95) -> dict[str, np.ndarray]:
        """coef, std_err, z, p_value, ci_low, ci_high (intercept first)."""
        beta = np.concatenate([[self.intercept], self.coef])
        se = self.std_err
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(se > 0, beta / se, np.nan)
        q = stats.norm.ppf(0.5 + level / 2.0)
        return {"coef": beta, "std_err": se, "z": z, "p_value": 2.0 * stats.norm.sf(np.abs(z)),
                "ci_low": beta - q * se, "ci_high": beta + q * se}


def fit_logit(
    X: np.ndarray,
    y: np.ndarray,
    *,
    sample_weight: np.ndarray | None = None,
    C: float | None = None,
    tol: float = 1e-8,
    max_iter: int = 50,
    init: np.ndarray | None = None,
) -> LogitFit:
    """Maximum-likelihood (optionally L2-penalised) logistic regression of y (0/1) on X."""
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    n, p = X.shape
    w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    A = np.empty((n, p + 1))
    A[:, 0] = 1.0
    A[:, 1:] = X
    pen = np.zeros(p + 1)
    if C is not None:
        pen[1:] = 1.0 / C
    beta = np.zeros(p + 1) if init is None else np.asarray(init, dtype=float).copy()
    if init is None:
        ybar = np.clip(np.average(y, weights=w), 1e-6, 1 - 1e-6)
        beta[0] = np.log(ybar / (1 - ybar))

    def objective(b: np.ndarray) -> float:
        eta = A @ b
        ll = np.sum(w * (y * eta - np.logaddexp(0.0, eta)))
        return ll - 0.5 * np.sum(pen * b * b)

    ll_old = objective(beta)
    converged = False
    it = 0
    for it in range(1, max_iter + 1):
        mu = special.expit(A @ beta)
        grad = A.T @ (w * (y - mu)) - pen * beta
        H = (A * (w * mu * (1.0 - mu))[:, None]).T @ A + np.diag(pen)
        try:
            step = linalg.solve(H, grad, assume_a="pos")
        except (linalg.LinAlgError, ValueError):
            step = linalg.lstsq(H, grad)[0]
        t = 1.0
        while True:  # step halving keeps every iteration an ascent step
            cand = beta + t * step
            ll_new = objective(cand)
            if ll_new >= ll_old - 1e-12 or t < 1e-6:
                break
            t *= 0.5
        beta = cand
        done = abs(ll_new - ll_old) <= tol * (abs(ll_old) + 1.0) and np.max(np.abs(t * step)) < 1e-6
        ll_old = ll_new
        if done:
            converged = True
            break
    mu = special.expit(A @ beta)
    H = (A * (w * mu * (1.0 - mu))[:, None]).T @ A + np.diag(pen)
    try:
        cov = linalg.inv(H)
    except linalg.LinAlgError:
        cov = linalg.pinv(H)
    return LogitFit(float(beta[0]), beta[1:].copy(), cov, it, converged, float(ll_old), C is not None)

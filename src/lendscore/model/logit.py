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

import warnings
from dataclasses import dataclass

import numpy as np
from scipy import linalg, special, stats

__all__ = ["LogitFit", "fit_logit", "with_covariance"]


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
    def beta(self) -> np.ndarray:
        """Intercept, then the coefficients (a new array)."""
        return np.concatenate([[self.intercept], self.coef])

    @property
    def std_err(self) -> np.ndarray:
        return np.sqrt(np.clip(np.diag(self.cov), 0.0, None))

    def inference(self, level: float = 0.95) -> dict[str, np.ndarray]:
        """coef, std_err, z, p_value, ci_low, ci_high (intercept first)."""
        beta = self.beta
        se = self.std_err
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(se > 0, beta / se, np.nan)
        q = stats.norm.ppf(0.5 + level / 2.0)
        return {
            "coef": beta,
            "std_err": se,
            "z": z,
            "p_value": 2.0 * stats.norm.sf(np.abs(z)),
            "ci_low": beta - q * se,
            "ci_high": beta + q * se,
        }


def _newton(A, y, w, pen, beta, tol, max_iter, hess_dtype, step_tol=1e-9):
    """Newton-Raphson with step halving; returns (beta, n_iter, converged, loglik).

    With ``hess_dtype`` float32 the Hessian (which only sets the step direction) is accumulated
    in single precision; the gradient, and so the fixed point, stay exact in double precision.
    """

    def loglik(eta, beta):
        return float(np.sum(w * (y * eta - np.logaddexp(0.0, eta))) - 0.5 * np.sum(pen * beta * beta))

    Ah = A.astype(hess_dtype, copy=False)
    eta = A @ beta
    ll = loglik(eta, beta)
    ll_now = True  # whether ll is the log-likelihood at beta (polishing steps skip computing it)
    for it in range(1, max_iter + 1):
        mu = special.expit(eta)
        grad = A.T @ (w * (y - mu)) - pen * beta
        v = (w * mu * (1.0 - mu)).astype(hess_dtype, copy=False)
        H = (Ah.T @ (Ah * v[:, None])).astype(float) + np.diag(pen)
        try:
            with warnings.catch_warnings():  # near-separation: the step halving handles it
                warnings.simplefilter("ignore", linalg.LinAlgWarning)
                step = linalg.solve(H, grad, assume_a="pos")
        except (linalg.LinAlgError, ValueError):
            step = linalg.lstsq(H, grad)[0]
        decrement = float(grad @ step)  # Newton decrement: twice the expected gain
        t = 1.0
        if 0.0 <= decrement < 1e-6 * (abs(ll) + 1.0):
            # a polishing step: the expected gain is a millionth of the log-likelihood, where the
            # quadratic model of a concave log-likelihood is exact to far below that, so the full
            # step is taken without evaluating the log-likelihood (done once, at the end)
            beta = beta + step
            eta = A @ beta
            ll_now = False
        else:
            if not ll_now:
                ll = loglik(eta, beta)
            while True:  # step halving keeps every iteration an ascent step
                cand = beta + t * step
                eta_c = A @ cand
                ll_c = loglik(eta_c, cand)
                if ll_c >= ll - 1e-12 * (abs(ll) + 1.0) or t < 1e-6:
                    break
                t *= 0.5
            beta, eta, ll, ll_now = cand, eta_c, ll_c, True
        # stop when the expected gain is negligible AND the step itself is tiny: with an
        # estimated Hessian the decrement alone can stop while coefficients still move by 1e-5
        if decrement < tol * (abs(ll) + 1.0) and float(np.max(np.abs(t * step))) < step_tol:
            return beta, it, True, ll if ll_now else loglik(eta, beta)
    return beta, max_iter, False, ll if ll_now else loglik(eta, beta)


def fit_logit(
    X: np.ndarray,
    y: np.ndarray,
    *,
    sample_weight: np.ndarray | None = None,
    C: float | None = None,
    tol: float = 1e-10,
    max_iter: int = 50,
    init: np.ndarray | None = None,
    with_cov: bool = True,
    full_steps: int | None = None,
    intercept_column: bool = False,
    sample_start: bool = True,
) -> LogitFit:
    """Maximum-likelihood (optionally L2-penalised) logistic regression of y (0/1) on X.

    On large samples a cold start first runs on a seeded quarter of the rows; the fit then
    finishes on all rows with the exact gradient (the Hessian, which only sets the direction, in
    single precision): the optimum, and so every reported number, is the full-data
    maximum-likelihood one. Full-data Newton converges quadratically, so from the sample's
    optimum or a warm start (``init``, which skips the sample phase) it takes 3-4 iterations.
    ``full_steps`` caps the full-data iterations (two from a good start are near-exact), for
    intermediate fits such as the interaction-rule rounds.

    With ``intercept_column`` X is a design whose first column is the intercept's ones, used as
    is (not copied): the scorecard's fitting steps grow one Fortran-ordered design and fit on
    views of its leading columns.

    ``y`` may be a share of events in [0, 1] with ``sample_weight`` the rows' total weight: the
    log-likelihood of rows summarised as counts (``y = n_event / n_total``, weight ``n_total``) is
    the rows' own. ``sample_start=False`` skips the quarter-sample cold start, a row-level
    shortcut whose subsample depends on the row order (the scorecard fits counts with it off, so
    the same rows give the same path whether summarised or not).
    """
    if intercept_column:
        A = X
    else:
        X = np.asarray(X, dtype=float)
        A = np.empty((X.shape[0], X.shape[1] + 1), order="F")
        A[:, 0] = 1.0
        A[:, 1:] = X
    y = np.asarray(y, dtype=float)
    n, p = int(A.shape[0]), int(A.shape[1]) - 1
    w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    pen = np.zeros(p + 1)
    if C is not None:
        pen[1:] = 1.0 / C
    if init is None:
        beta = np.zeros(p + 1)
        ybar = np.clip(np.average(y, weights=w), 1e-6, 1 - 1e-6)
        beta[0] = np.log(ybar / (1 - ybar))
    else:
        beta = np.asarray(init, dtype=float).copy()
    n_iter = 0
    sub = np.random.default_rng(0).random(n) < 0.25 if (n > 40_000 and sample_start) else None
    if sub is not None and init is None:
        scale = n / max(int(sub.sum()), 1)  # keeps the penalty's weight relative to the data
        beta, n_iter, _, _ = _newton(
            A[sub], y[sub], w[sub] * scale, pen, beta, 1e-6, max_iter, np.float32, step_tol=1e-3
        )
    # the Hessian only sets the step direction; the gradient, and so the optimum, stay exact
    steps = max_iter if full_steps is None else min(full_steps, max_iter)
    beta, it, converged, ll = _newton(A, y, w, pen, beta, tol, steps, np.float32)
    n_iter += it
    mu = special.expit(A @ beta)
    cov = _covariance(A, mu, w, pen) if with_cov else np.full((p + 1, p + 1), np.nan)
    return LogitFit(float(beta[0]), beta[1:].copy(), cov, n_iter, converged, float(ll), C is not None)


def _covariance(A, mu, w, pen) -> np.ndarray:
    """Inverse of the (penalised) Hessian at the fitted probabilities mu."""
    H = A.T @ (A * (w * mu * (1.0 - mu))[:, None]) + np.diag(pen)
    try:
        with warnings.catch_warnings():  # an ill-conditioned Hessian shows as huge standard errors
            warnings.simplefilter("ignore", linalg.LinAlgWarning)
            return linalg.inv(H)
    except linalg.LinAlgError:
        return linalg.pinv(H)


def with_covariance(
    fit: LogitFit,
    X: np.ndarray,
    *,
    sample_weight: np.ndarray | None = None,
    C: float | None = None,
    intercept_column: bool = False,
) -> LogitFit:
    """The same fit with its covariance computed on (X, weights): for fits made with ``with_cov=False``.
    With ``intercept_column`` X is a design whose first column is the intercept's ones."""
    X = np.asarray(X, dtype=float)
    A = X if intercept_column else np.column_stack([np.ones(len(X)), X])
    w = np.ones(len(X)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    pen = np.zeros(A.shape[1])
    if C is not None:
        pen[1:] = 1.0 / C
    mu = special.expit(A @ fit.beta)
    return LogitFit(
        fit.intercept,
        fit.coef,
        _covariance(A, mu, w, pen),
        fit.n_iter,
        fit.converged,
        fit.log_likelihood,
        fit.penalised,
    )

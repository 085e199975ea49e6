"""fit_logit against statsmodels Logit (unpenalised) and scikit-learn LogisticRegression (L2)."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from sklearn.linear_model import LogisticRegression

from lendscore.model.logit import fit_logit


def _synthetic(seed: int = 11, n: int = 3000, p: int = 4):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    X[:, 1] += 0.5 * X[:, 0]  # some correlation
    beta = np.array([0.8, -0.5, 0.3, 0.0][:p])
    y = (rng.random(n) < 1 / (1 + np.exp(-(-1.2 + X @ beta)))).astype(float)
    return X, y


def _compare_with_statsmodels(X, y):
    ours = fit_logit(X, y)
    ref = sm.Logit(y, sm.add_constant(X, has_constant="add")).fit(method="newton", tol=1e-12, maxiter=100, disp=0)
    inf = ours.inference()
    assert ours.converged
    np.testing.assert_allclose(inf["coef"], ref.params, atol=1e-6)
    np.testing.assert_allclose(inf["std_err"], ref.bse, rtol=1e-6)
    np.testing.assert_allclose(inf["z"], ref.tvalues, rtol=1e-6)
    np.testing.assert_allclose(inf["p_value"], ref.pvalues, rtol=1e-5, atol=1e-12)
    ci = ref.conf_int(alpha=0.05)
    np.testing.assert_allclose(inf["ci_low"], ci[:, 0], atol=1e-6)
    np.testing.assert_allclose(inf["ci_high"], ci[:, 1], atol=1e-6)
    assert ours.log_likelihood == pytest.approx(ref.llf, abs=1e-6)


@pytest.mark.parametrize(("seed", "n"), [(11, 3000), (12, 3000), (13, 60_000)])
def test_matches_statsmodels_on_synthetic_data(seed, n):
    # n = 60,000 also exercises the large-sample path (first iterations on a subsample)
    _compare_with_statsmodels(*_synthetic(seed, n=n))


def test_matches_statsmodels_on_lending_club_woe(lc_model, lending_club):
    X = lending_club.X_train
    W = np.column_stack([lc_model.binnings_[c].transform(X[c]) for c in lc_model.selected_features_])
    _compare_with_statsmodels(W, lending_club.y_train.to_numpy(dtype=float))


def test_weights_equal_to_repeated_rows():
    X, y = _synthetic(13, n=400)
    w = np.random.default_rng(0).integers(1, 4, size=len(y)).astype(float)
    a = fit_logit(X, y, sample_weight=w)
    b = fit_logit(np.repeat(X, w.astype(int), axis=0), np.repeat(y, w.astype(int)))
    np.testing.assert_allclose(a.coef, b.coef, atol=1e-8)
    np.testing.assert_allclose(a.std_err, b.std_err, rtol=1e-8)


@pytest.mark.parametrize("C", [0.01, 0.1, 1.0])
def test_penalised_matches_sklearn(C):
    X, y = _synthetic(14)
    ours = fit_logit(X, y, C=C)
    ref = LogisticRegression(C=C, solver="newton-cholesky", tol=1e-12, max_iter=200).fit(X, y)
    assert ours.penalised
    np.testing.assert_allclose(ours.coef, ref.coef_.ravel(), atol=1e-6)
    assert ours.intercept == pytest.approx(ref.intercept_[0], abs=1e-6)


def test_penalty_shrinks_coefficients():
    X, y = _synthetic(15)
    norms = [np.linalg.norm(fit_logit(X, y, C=C).coef) for C in (0.001, 0.01, 0.1, 1.0)]
    assert norms == sorted(norms)
    assert norms[-1] < np.linalg.norm(fit_logit(X, y).coef)

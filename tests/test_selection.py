"""Correlation and VIF screens against numpy and statsmodels."""

from __future__ import annotations

import numpy as np
import pytest

from lendscore.features.selection import correlation, select_features, vif


def _columns(seed: int = 0, n: int = 5_000) -> np.ndarray:
    rng = np.random.default_rng(seed)
    W = rng.normal(0.0, 1.0, (n, 5))
    W[:, 3] = 0.8 * W[:, 1] - 0.5 * W[:, 0] + rng.normal(0.0, 0.3, n)  # collinear with 0 and 1
    W[:, 4] += 40.0  # a large mean must not cost precision
    return W


def test_correlation_matches_numpy_and_handles_a_constant_column():
    W = np.column_stack([_columns(), np.full(5_000, 2.5)])
    R, std = correlation(W)
    np.testing.assert_allclose(R[:5, :5], np.corrcoef(W[:, :5], rowvar=False), atol=1e-12)
    np.testing.assert_allclose(std, W.std(axis=0), atol=1e-10)
    assert std[5] == 0 and np.all(R[5, :5] == 0) and R[5, 5] == 1.0


def test_vif_matches_statsmodels():
    oi = pytest.importorskip("statsmodels.stats.outliers_influence")
    W = _columns()
    A = np.column_stack([np.ones(len(W)), W])
    expected = [oi.variance_inflation_factor(A, j) for j in range(1, A.shape[1])]
    np.testing.assert_allclose(vif(W), expected, rtol=1e-8)


def test_selection_drops_the_collinear_column_with_the_lower_iv():
    W = _columns()
    names = list("abcde")
    iv = {"a": 0.3, "b": 0.2, "c": 0.1, "d": 0.05, "e": 0.4}
    kept, table = select_features(names, iv, W, iv_min=0.02, corr_max=0.6, vif_max=5.0)
    assert "d" not in kept and kept == ["a", "b", "c", "e"]
    assert table.set_index("feature").loc["d", "reason"].startswith("|corr|")


def test_weighted_correlation_and_vif_equal_repeated_rows():
    rng = np.random.default_rng(3)
    W = _columns(n=800)
    counts = rng.integers(1, 4, len(W))
    R_w, std_w = correlation(W, counts.astype(float))
    R_r, std_r = correlation(np.repeat(W, counts, axis=0))
    np.testing.assert_allclose(R_w, R_r, atol=1e-12)
    np.testing.assert_allclose(std_w, std_r, atol=1e-12)
    np.testing.assert_allclose(
        vif(W, sample_weight=counts.astype(float)), vif(np.repeat(W, counts, axis=0)), rtol=1e-10
    )

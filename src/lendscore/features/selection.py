"""Characteristic selection by information value, correlation and VIF, recording every reason.

All steps work on the training window's WoE columns only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["correlation", "select_features", "vif"]


def correlation(W: np.ndarray, sample_weight: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(Weighted) Pearson correlation matrix of the columns and their standard deviations, from
    one Gram matrix (one pass over the rows; a constant column gets correlation 0 with the others)."""
    if sample_weight is None:
        mean = W.mean(axis=0)
        cov = W.T @ W / len(W) - np.outer(mean, mean)
    else:
        w = np.asarray(sample_weight, dtype=float) / np.sum(sample_weight)
        mean = w @ W
        cov = W.T @ (W * w[:, None]) - np.outer(mean, mean)
    std = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    scale = np.where(std > 0, std, 1.0)
    R = cov / np.outer(scale, scale)
    R[std == 0, :] = 0.0
    R[:, std == 0] = 0.0
    np.fill_diagonal(R, 1.0)
    return R, std


def vif(W: np.ndarray, R: np.ndarray | None = None, sample_weight: np.ndarray | None = None) -> np.ndarray:
    """Variance inflation factor of each column (1 / (1 - R^2) on the other columns, weighted
    least squares with ``sample_weight``); ``R``, the columns' correlation matrix, if known."""
    p = W.shape[1]
    if p < 2:
        return np.ones(p)
    R = correlation(W, sample_weight)[0] if R is None else R
    try:
        inv = np.linalg.inv(R)
    except np.linalg.LinAlgError:
        inv = np.linalg.pinv(R)
    return np.diag(inv).copy()


def select_features(
    names: list[str],
    iv: dict[str, float],
    W: np.ndarray,
    *,
    iv_min: float,
    corr_max: float,
    vif_max: float,
    sample_weight: np.ndarray | None = None,
) -> tuple[list[str], pd.DataFrame]:
    """Select characteristics; return the kept names (in input order) and the selection table.

    1. drop IV below ``iv_min``; 2. of each pair with |Pearson correlation| of WoE above
    ``corr_max``, drop the one with the lower IV; 3. drop the highest VIF above ``vif_max``
    until none is left. With ``sample_weight`` correlations and VIFs are weighted.
    """
    reason: dict[str, str] = {}
    for n in names:
        if iv[n] < iv_min:
            reason[n] = f"IV {iv[n]:.4f} < iv_min {iv_min:g}"
    col = {n: i for i, n in enumerate(names)}
    live = [n for n in names if n not in reason]
    R_all, std = correlation(W, sample_weight)
    for n in names:
        if n in live and std[col[n]] == 0:
            reason[n] = "constant WoE on the training data"
    live = [n for n in live if n not in reason]
    if len(live) > 1:
        C = R_all[np.ix_([col[n] for n in live], [col[n] for n in live])]
        by_iv = sorted(range(len(live)), key=lambda i: -iv[live[i]])
        kept: list[int] = []
        for i in by_iv:
            clash = [k for k in kept if abs(C[i, k]) > corr_max]
            if clash:
                k = clash[0]
                reason[live[i]] = (
                    f"|corr| {abs(C[i, k]):.3f} > corr_max {corr_max:g} with "
                    f"{live[k]} (IV {iv[live[k]]:.4f} >= {iv[live[i]]:.4f})"
                )
            else:
                kept.append(i)
        live = [n for n in live if n not in reason]
    while len(live) > 2:
        cols = [col[n] for n in live]
        v = vif(W[:, cols], R_all[np.ix_(cols, cols)])
        j = int(np.argmax(v))
        if v[j] <= vif_max:
            break
        reason[live[j]] = f"VIF {v[j]:.2f} > vif_max {vif_max:g}"
        live.pop(j)
    table = pd.DataFrame(
        {
            "feature": names,
            "iv": [iv[n] for n in names],
            "selected": [n not in reason for n in names],
            "reason": [reason.get(n, "selected") for n in names],
        }
    )
    return live, table

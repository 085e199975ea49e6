"""The validation pack's tables, as pure functions of outcomes, scores, PDs and bin counts.

Conventions: event = default = bad = 1; a higher score is safer. Score bands are numbered from the
lowest score (the riskiest) up, so "cumulative" means "this band and every riskier one": declining
the bands up to here declines ``cum_share`` of the applicants and catches ``capture_rate`` of the
bads. Band ``k`` holds the scores in ``[edges[k-2], edges[k-1])`` (the outer bands are open), the
same bands as the monitoring reference's score deciles.

Gains table, per band (``N_event``: all bads of the sample)::

    bad_rate     = n_event / n
    odds         = n_nonevent / n_event                  (goods per bad; NaN when the band has no bad)
    capture_rate = cum_n_event / N_event                 (share of all bads in this band and below)
    lift         = bad_rate / (N_event / N)              (band against the whole sample)
    cum_lift     = capture_rate / cum_share

Rank ordering: the bad rate should fall from each band to the next safer one. A band whose bad
rate is not below that of the nearest riskier non-empty band breaks the order; its ``p_value`` is
the one-sided Fisher exact test of "the safer band really has the higher bad rate" (small: the
reversal is real; large: it is within sampling noise).

Cut-off strategy, at each cut-off ``c`` (approve ``score >= c``; ``e``: exposure, ``LGD`` given)::

    expected_loss = LGD * sum(PD * e)        over the approved (what the model predicts)
    observed_loss = LGD * sum(e of bads)     over the approved (what happened)

Correlation and VIF of the WoE design: Pearson correlations and variance inflation factors with
:func:`lendscore.features.selection.correlation` and :func:`~lendscore.features.selection.vif`, the
functions the characteristic selection uses.

Nothing here imports matplotlib; every function returns a DataFrame (NaN where a value is not
defined, never a silent 0).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats

from lendscore.decision.cutoff import profit_table
from lendscore.errors import DataError
from lendscore.features.selection import correlation, vif

__all__ = [
    "GAINS_COLUMNS",
    "band_index",
    "correlation_table",
    "cutoff_strategy",
    "gains_table",
    "rank_ordering",
    "score_deciles",
    "vif_table",
]

GAINS_COLUMNS = [
    "band",
    "score_min",
    "score_max",
    "n",
    "n_event",
    "n_nonevent",
    "bad_rate",
    "odds",
    "cum_n_nonevent",
    "cum_n_event",
    "cum_share",
    "capture_rate",
    "lift",
    "cum_lift",
]


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    out = np.full(np.shape(num), np.nan)
    np.divide(num, den, out=out, where=np.asarray(den) > 0)
    return out


def _outcome_and_score(y: ArrayLike, score: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    y_arr = np.asarray(y).ravel()
    s_arr = np.asarray(score, dtype=float).ravel()
    if y_arr.shape != s_arr.shape or y_arr.size == 0:
        raise DataError(f"y and score must be 1-d of the same non-zero length; got {y_arr.shape} and {s_arr.shape}")
    if not np.isin(y_arr, [0, 1]).all():
        raise DataError("y must be 0 (good) / 1 (bad, event)", column="y")
    if not np.isfinite(s_arr).all():
        raise DataError(f"score must be finite; got {int((~np.isfinite(s_arr)).sum())} non-finite values")
    return y_arr.astype(np.int64), s_arr


def score_deciles(score: ArrayLike, n_bands: int = 10) -> np.ndarray:
    """Inner edges of ``n_bands`` bands of (about) equal size of ``score`` (duplicates merged)."""
    s = np.asarray(score, dtype=float)
    return np.unique(np.quantile(s, np.linspace(0, 1, n_bands + 1)[1:-1]))


def band_index(score: ArrayLike, edges: ArrayLike) -> np.ndarray:
    """0-based band of each score under the inner ``edges`` (a score on an edge goes up)."""
    return np.searchsorted(np.asarray(edges, dtype=float), np.asarray(score, dtype=float), side="right")


def gains_table(y: ArrayLike, score: ArrayLike, edges: ArrayLike) -> pd.DataFrame:
    """One row per score band, from the lowest score up: see the module docstring (:data:`GAINS_COLUMNS`).

    ``score_min`` of the first band is ``-inf`` and ``score_max`` of the last ``inf`` (open bands).
    """
    y_arr, s_arr = _outcome_and_score(y, score)
    e = np.asarray(edges, dtype=float)
    if e.ndim != 1 or (np.diff(e) <= 0).any():
        raise DataError(f"edges must be strictly increasing; got {e.tolist()}")
    idx = band_index(s_arr, e)
    n = np.bincount(idx, minlength=e.size + 1).astype(np.int64)
    n_event = np.bincount(idx, weights=y_arr, minlength=e.size + 1).round().astype(np.int64)
    n_nonevent = n - n_event
    total, total_event = int(n.sum()), int(n_event.sum())
    cum_n, cum_event, cum_nonevent = np.cumsum(n), np.cumsum(n_event), np.cumsum(n_nonevent)
    bad_rate = _ratio(n_event, n)
    overall = total_event / total
    capture = cum_event / total_event if total_event else np.full(n.shape, np.nan)
    cum_share = cum_n / total
    return pd.DataFrame(
        {
            "band": np.arange(1, e.size + 2),
            "score_min": np.concatenate([[-np.inf], e]),
            "score_max": np.concatenate([e, [np.inf]]),
            "n": n,
            "n_event": n_event,
            "n_nonevent": n_nonevent,
            "bad_rate": bad_rate,
            "odds": _ratio(n_nonevent, n_event),
            "cum_n_nonevent": cum_nonevent,
            "cum_n_event": cum_event,
            "cum_share": cum_share,
            "capture_rate": capture,
            "lift": bad_rate / overall if overall > 0 else np.full(n.shape, np.nan),
            "cum_lift": _ratio(capture, cum_share),
        }
    )[GAINS_COLUMNS]


def rank_ordering(gains: pd.DataFrame, *, alpha: float = 0.05) -> pd.DataFrame:
    """Each non-empty band against the nearest riskier non-empty band (see the module docstring).

    Columns ``band, bad_rate, previous_band, previous_bad_rate, breaks, p_value, significant``;
    ``previous_*`` and ``p_value`` are NaN for the first band, ``p_value`` also where the order holds.
    """
    rows = []
    prev = None
    for r in gains.itertuples(index=False):
        if r.n == 0:
            continue
        out = {"band": int(r.band), "bad_rate": float(r.bad_rate), "previous_band": np.nan}
        out.update(previous_bad_rate=np.nan, breaks=False, p_value=np.nan, significant=False)
        if prev is not None:
            out.update(previous_band=int(prev.band), previous_bad_rate=float(prev.bad_rate))
            if r.bad_rate >= prev.bad_rate:
                table = [[int(r.n_event), int(r.n_nonevent)], [int(prev.n_event), int(prev.n_nonevent)]]
                p_value = float(stats.fisher_exact(table, alternative="greater").pvalue)
                out.update(breaks=True, p_value=p_value, significant=p_value < alpha)
        rows.append(out)
        prev = r
    columns = ["band", "bad_rate", "previous_band", "previous_bad_rate", "breaks", "p_value", "significant"]
    return pd.DataFrame(rows, columns=columns)


def cutoff_strategy(
    y: ArrayLike,
    score: ArrayLike,
    pd_: ArrayLike,
    cutoffs: ArrayLike,
    *,
    lgd: float,
    exposure: float | ArrayLike = 1.0,
) -> pd.DataFrame:
    """Approval, bad rate among the approved and loss at each score cut-off (approve ``score >= c``).

    Columns ``cutoff, n_approved, approval_rate, n_event_approved, bad_rate, bads_declined_share,
    exposure_approved, expected_loss, observed_loss`` (see the module docstring); counts and rates
    come from :func:`lendscore.decision.cutoff.profit_table`.
    """
    y_arr, s_arr = _outcome_and_score(y, score)
    p_arr = np.asarray(pd_, dtype=float).ravel()
    if p_arr.shape != s_arr.shape:
        raise DataError(f"pd must have one value per score; got {p_arr.shape} for {s_arr.shape}")
    e = np.broadcast_to(np.asarray(exposure, dtype=float), s_arr.shape)
    c = np.sort(np.asarray(cutoffs, dtype=float))
    base = profit_table(s_arr, y_arr, lgd=lgd, margin=0.0, exposure=e, cutoffs=c)
    approved = s_arr[None, :] >= c[:, None]  # cut-offs x rows: ~10 x rows, small
    return pd.DataFrame(
        {
            "cutoff": c,
            "n_approved": base["n_approved"].to_numpy(dtype=np.int64),
            "approval_rate": base["approval_rate"].to_numpy(),
            "n_event_approved": base["n_event_approved"].to_numpy(dtype=np.int64),
            "bad_rate": base["bad_rate"].to_numpy(),
            "bads_declined_share": base["recall"].to_numpy(),
            "exposure_approved": approved @ e,
            "expected_loss": lgd * (approved @ (p_arr * e)),
            "observed_loss": base["expected_loss"].to_numpy(),
        }
    )


def correlation_table(design: pd.DataFrame) -> pd.DataFrame:
    """Pearson correlation of the design's columns (a square frame labelled by column)."""
    R, _ = correlation(design.to_numpy(dtype=float))
    return pd.DataFrame(R, index=design.columns, columns=design.columns)


def vif_table(design: pd.DataFrame) -> pd.DataFrame:
    """Per column: ``characteristic, vif, max_abs_corr, most_correlated_with`` (the other column
    with the highest absolute correlation; None with a single column)."""
    R, _ = correlation(design.to_numpy(dtype=float))
    values = vif(design.to_numpy(dtype=float), R)
    names = [str(c) for c in design.columns]
    off = np.abs(R) - np.eye(len(names)) * 2  # the diagonal never wins
    rows = []
    for i, name in enumerate(names):
        j = int(np.argmax(off[i])) if len(names) > 1 else None
        rows.append(
            {
                "characteristic": name,
                "vif": float(values[i]),
                "max_abs_corr": float(abs(R[i, j])) if j is not None else np.nan,
                "most_correlated_with": names[j] if j is not None else None,
            }
        )
    return pd.DataFrame(rows, columns=["characteristic", "vif", "max_abs_corr", "most_correlated_with"])

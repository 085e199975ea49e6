"""Validation plots. Each function returns a :class:`matplotlib.figure.Figure` and never shows it.

Figures are built with the object-oriented API on an Agg canvas (``FigureCanvasAgg``), not through
``pyplot``: nothing is registered in pyplot's global figure list, the global backend is left alone,
and a figure is freed as soon as it is no longer referenced (no ``plt.close`` to forget).

Conventions: event = default = bad = 1; score higher = safer; PD = probability of default.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from numpy.typing import ArrayLike
from scipy import stats
from sklearn.metrics import roc_curve

from lendscore.validation import check_target_and_pd, roc_auc

__all__ = [
    "new_figure",
    "plot_roc",
    "plot_ks",
    "plot_score_distribution",
    "plot_calibration",
    "plot_woe",
    "plot_bad_rate_by_band",
    "plot_band_shares",
    "score_hist",
]

BAD_COLOUR = "#c0392b"
GOOD_COLOUR = "#2e7d32"
SPLIT_COLOURS = ("#1f4e79", "#e67e22", "#7f8c8d", "#8e44ad")


def new_figure(width: float = 5.0, height: float = 3.6, *, constrained: bool = True) -> Figure:
    """A figure attached to an Agg canvas, independent of pyplot (constrained layout unless told)."""
    fig = Figure(figsize=(width, height), layout="constrained" if constrained else None)
    FigureCanvasAgg(fig)
    return fig


def plot_roc(splits: Mapping[str, tuple[ArrayLike, ArrayLike]]) -> Figure:
    """ROC curves of several samples (e.g. train and test), AUC in the legend.

    Parameters
    ----------
    splits
        Sample name -> ``(y, pd)``.
    """
    fig = new_figure(4.6, 4.2)
    ax = fig.add_subplot()
    for (name, (y, p)), colour in zip(splits.items(), SPLIT_COLOURS * 4, strict=False):
        y_arr, p_arr = check_target_and_pd(y, p)
        fpr, tpr, _ = roc_curve(y_arr, p_arr)
        ax.plot(fpr, tpr, color=colour, lw=1.6, label=f"{name} (AUC {roc_auc(y_arr, p_arr):.3f})")
    ax.plot([0, 1], [0, 1], color="#999999", lw=0.8, ls="--", label="random")
    ax.set(
        xlim=(0, 1),
        ylim=(0, 1.01),
        xlabel="false positive rate (goods declined)",
        ylabel="true positive rate (bads caught)",
        title="ROC curve",
    )
    ax.legend(loc="lower right", fontsize=8)
    return fig


def plot_ks(y: ArrayLike, score: ArrayLike, *, title: str = "KS") -> Figure:
    """Cumulative shares of bads and goods by score, with the KS gap marked.

    ``F(s)`` is the share of each class with score <= s; as higher scores are safer, the bad curve
    rises first and KS is the largest vertical gap between the two curves.
    """
    y_arr, s_arr = np.asarray(y).astype(int), np.asarray(score, dtype=float)
    grid = np.unique(s_arr)
    f_bad = np.searchsorted(np.sort(s_arr[y_arr == 1]), grid, side="right") / max((y_arr == 1).sum(), 1)
    f_good = np.searchsorted(np.sort(s_arr[y_arr == 0]), grid, side="right") / max((y_arr == 0).sum(), 1)
    gap = np.abs(f_bad - f_good)
    best = int(np.argmax(gap))
    fig = new_figure()
    ax = fig.add_subplot()
    ax.step(grid, f_bad, where="post", color=BAD_COLOUR, label="bad (event)")
    ax.step(grid, f_good, where="post", color=GOOD_COLOUR, label="good (non-event)")
    ax.vlines(grid[best], min(f_bad[best], f_good[best]), max(f_bad[best], f_good[best]), color="black", lw=2)
    ax.annotate(
        f"KS = {gap[best]:.3f}\nat score {grid[best]:.0f}",
        (grid[best], (f_bad[best] + f_good[best]) / 2),
        xytext=(8, 0),
        textcoords="offset points",
        fontsize=8,
        va="center",
    )
    ax.set(xlabel="score (higher = safer)", ylabel="cumulative share", ylim=(0, 1.01), title=title)
    ax.legend(loc="lower right", fontsize=8)
    return fig


def plot_score_distribution(
    y: ArrayLike, score: ArrayLike, *, bins: int = 30, title: str = "Score distribution"
) -> Figure:
    """Histograms of the score of goods and bads on common bins, each normalised to its own total."""
    y_arr, s_arr = np.asarray(y).astype(int), np.asarray(score, dtype=float)
    edges = np.histogram_bin_edges(s_arr, bins=bins)
    fig = new_figure()
    ax = fig.add_subplot()
    for label, mask, colour in (("good (non-event)", y_arr == 0, GOOD_COLOUR), ("bad (event)", y_arr == 1, BAD_COLOUR)):
        counts, _ = np.histogram(s_arr[mask], bins=edges)
        share = counts / max(counts.sum(), 1)
        ax.stairs(share, edges, fill=True, alpha=0.4, color=colour, label=f"{label}, n={int(mask.sum())}")
    ax.set(xlabel="score (higher = safer)", ylabel="share of class", title=title)
    ax.legend(fontsize=8)
    return fig


def plot_calibration(table: pd.DataFrame, *, level: float = 0.95, title: str = "Calibration by grade") -> Figure:
    """Predicted PD and observed default rate per grade with exact binomial (Clopper-Pearson) intervals.

    Parameters
    ----------
    table
        Output of :func:`lendscore.validation.calibration_by_group`.
    """
    fig = new_figure(5.4, 3.6)
    ax = fig.add_subplot()
    x = np.arange(len(table))
    counts = zip(table["n_event"], table["n"], strict=True)
    intervals = [stats.binomtest(int(k), int(n)).proportion_ci(level) for k, n in counts]
    low = np.array([ci.low for ci in intervals])
    high = np.array([ci.high for ci in intervals])
    observed = table["observed_rate"].to_numpy(dtype=float)
    ax.errorbar(
        x,
        observed,
        yerr=[observed - low, high - observed],
        fmt="o",
        color=BAD_COLOUR,
        capsize=3,
        label=f"observed default rate ({level:.0%} exact CI)",
    )
    ax.plot(x, table["predicted_pd"].to_numpy(dtype=float), "D", color="#1f4e79", label="predicted PD (mean)")
    ax.set_xticks(x, [str(g) for g in table["group"]])
    ax.set(xlabel="grade", ylabel="default rate", title=title)
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8)
    return fig


def plot_woe(table: pd.DataFrame, characteristic: str) -> Figure:
    """WoE by bin of one characteristic: horizontal bars labelled by bin, green when safer than average.

    Parameters
    ----------
    table
        The points table (columns ``characteristic, bin, woe``, optionally ``n``); rows of other
        characteristics are ignored. Positive WoE = more goods than average = safer.
    """
    rows = table[table["characteristic"] == characteristic]
    woe = rows["woe"].to_numpy(dtype=float)
    labels = [str(b) for b in rows["bin"]]
    height = 0.7 + 0.25 * max(len(rows), 2)
    # fixed margins sized to the longest bin label: a constrained layout would double the drawing time
    # of the many small WoE figures in a report
    fig = new_figure(4.2, height, constrained=False)
    left = min(0.55, 0.06 + 0.014 * max((len(label) for label in labels), default=4))
    fig.subplots_adjust(left=left, right=0.97, bottom=0.45 / height, top=1 - 0.25 / height)
    ax = fig.add_subplot()
    y_pos = np.arange(len(rows))[::-1]
    ax.barh(y_pos, woe, color=np.where(woe >= 0, GOOD_COLOUR, BAD_COLOUR), height=0.7)
    ax.set_yticks(y_pos, labels, fontsize=7)
    ax.axvline(0, color="black", lw=0.6)
    ax.tick_params(axis="x", labelsize=7)
    ax.set_xlabel("WoE (positive = safer)", fontsize=7)
    ax.set_title(characteristic, fontsize=9)
    return fig


def _band_labels(bands: pd.DataFrame) -> list[str]:
    lo, hi = bands["score_min"].to_numpy(dtype=float), bands["score_max"].to_numpy(dtype=float)
    return [
        f"< {b:.0f}" if not np.isfinite(a) else f">= {a:.0f}" if not np.isfinite(b) else f"{a:.0f}-{b:.0f}"
        for a, b in zip(lo, hi, strict=True)
    ]


def plot_bad_rate_by_band(gains: Mapping[str, pd.DataFrame], *, title: str = "Bad rate by score band") -> Figure:
    """Bad rate per score band (lowest score first) of several samples on the same bands; a band
    whose bad rate is not below the previous band's breaks the rank ordering and is circled.

    Parameters
    ----------
    gains
        Sample name -> gains table (columns ``score_min, score_max, bad_rate`` and, optionally,
        ``breaks_rank_order``), as :func:`lendscore.reports.tables.gains_table` returns.
    """
    fig = new_figure(5.6, 3.6)
    ax = fig.add_subplot()
    labels: list[str] = []
    for (name, g), colour in zip(gains.items(), SPLIT_COLOURS * 4, strict=False):
        x = np.arange(len(g))
        rate = g["bad_rate"].to_numpy(dtype=float)
        ax.plot(x, rate, "o-", color=colour, lw=1.4, ms=4, label=name)
        if "breaks_rank_order" in g:
            bad = g["breaks_rank_order"].to_numpy(dtype=bool)
            ax.plot(x[bad], rate[bad], "o", ms=11, mfc="none", mec=BAD_COLOUR, mew=1.5)
        labels = _band_labels(g)
    ax.plot([], [], "o", ms=9, mfc="none", mec=BAD_COLOUR, label="breaks rank order")
    ax.set_xticks(np.arange(len(labels)), labels, rotation=45, ha="right", fontsize=7)
    ax.set(xlabel="score band (low score = risky)", ylabel="bad rate", title=title)
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8)
    return fig


def plot_band_shares(
    bands: pd.DataFrame, *, labels: tuple[str, str] = ("reference", "sample"), title: str = "Score band shares"
) -> Figure:
    """Share of each score band in the reference and in another sample (the score PSI's bins).

    Parameters
    ----------
    bands
        Columns ``score_min, score_max, expected_share, actual_share``.
    """
    fig = new_figure(5.6, 3.4)
    ax = fig.add_subplot()
    x = np.arange(len(bands))
    ax.bar(x - 0.2, bands["expected_share"], width=0.4, color="#999999", label=labels[0])
    ax.bar(x + 0.2, bands["actual_share"], width=0.4, color=SPLIT_COLOURS[0], label=labels[1])
    ax.set_xticks(x, _band_labels(bands), rotation=45, ha="right", fontsize=7)
    ax.set(xlabel="score band (low score = risky)", ylabel="share of rows", title=title)
    ax.legend(fontsize=8)
    return fig


def score_hist(
    score: ArrayLike,
    *,
    reference: ArrayLike | None = None,
    bins: int | ArrayLike = 20,
    labels: tuple[str, str] = ("current", "reference"),
    title: str = "Score distribution",
) -> Figure:
    """Share of scores per bin, optionally against a reference sample on the same bins (for monitoring).

    Bin edges are ``bins`` when given as edges, otherwise computed on the reference (or on ``score``
    when there is no reference), so the picture matches a PSI computed on reference bins.
    Scores outside the edges are counted in the first or last bin.
    """
    current = np.asarray(score, dtype=float)
    ref = None if reference is None else np.asarray(reference, dtype=float)
    if np.ndim(bins) == 0:
        edges = np.histogram_bin_edges(ref if ref is not None else current, bins=bins)
    else:
        edges = np.asarray(bins, dtype=float)
    fig = new_figure()
    ax = fig.add_subplot()
    samples = [(labels[0], current, "#1f4e79")] + ([(labels[1], ref, "#999999")] if ref is not None else [])
    for name, values, colour in samples:
        counts, _ = np.histogram(np.clip(values, edges[0], edges[-1]), bins=edges)
        ax.stairs(
            counts / max(counts.sum(), 1),
            edges,
            fill=name == labels[0],
            alpha=0.5 if name == labels[0] else 1.0,
            color=colour,
            lw=1.5,
            label=f"{name}, n={values.size}",
        )
    ax.set(xlabel="score (higher = safer)", ylabel="share", title=title)
    ax.legend(fontsize=8)
    return fig

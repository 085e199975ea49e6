"""Plots for the decision layer. matplotlib is imported inside each function (never at import)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["plot_cutoff_tradeoff"]


def plot_cutoff_tradeoff(table: pd.DataFrame, chosen: float | None = None) -> Figure:
    """Profit, approval rate and bad rate against the cut-off; returns the Figure (no ``show``)."""
    from matplotlib.figure import Figure

    t = table[np.isfinite(table["cutoff"])]
    fig = Figure(figsize=(8, 4.5))
    ax = fig.add_subplot(1, 1, 1)
    ax.plot(t["cutoff"], t["profit"], color="tab:blue", label="profit")
    ax.set_xlabel("score cut-off (approve when score >= cut-off)")
    ax.set_ylabel("profit")
    ax2 = ax.twinx()
    ax2.plot(t["cutoff"], t["approval_rate"], color="tab:green", label="approval rate")
    ax2.plot(t["cutoff"], t["bad_rate"], color="tab:red", label="bad rate (approved)")
    ax2.set_ylabel("rate")
    ax2.set_ylim(0, 1)
    if chosen is not None:
        ax.axvline(chosen, color="black", linestyle="--", label=f"chosen {chosen:g}")
    handles = ax.get_legend_handles_labels()
    handles2 = ax2.get_legend_handles_labels()
    ax.legend(handles[0] + handles2[0], handles[1] + handles2[1], loc="best", fontsize="small")
    ax.set_title("Cut-off trade-off")
    fig.tight_layout()
    return fig

"""Validation plots and the HTML validation report.

This subpackage imports matplotlib (on an Agg canvas, without pyplot) and Jinja2; the core of
lendscore never imports it.
"""

from __future__ import annotations

from lendscore.reports.html import ReportContext, SplitResult, build_view, render_report, write_report
from lendscore.reports.plots import (
    plot_calibration,
    plot_ks,
    plot_roc,
    plot_score_distribution,
    plot_woe,
    score_hist,
)

__all__ = [
    "ReportContext",
    "SplitResult",
    "build_view",
    "plot_calibration",
    "plot_ks",
    "plot_roc",
    "plot_score_distribution",
    "plot_woe",
    "render_report",
    "score_hist",
    "write_report",
]

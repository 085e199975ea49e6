"""Validation plots, the HTML validation report and its machine-readable twin, the validation pack.

This subpackage imports matplotlib (on an Agg canvas, without pyplot) and Jinja2; the core of
lendscore never imports it. Compute -> render -> template: :func:`build_pack` computes every number
(:class:`ValidationPack`, written as ``report.json``), :func:`build_view` formats it with the
figures, and the Jinja2 template lays out ``report.html``.
"""

from __future__ import annotations

from lendscore.reports.context import ReportContext, SplitResult
from lendscore.reports.html import build_view, render_report, write_pack, write_report
from lendscore.reports.pack import build_pack
from lendscore.reports.pack_schema import ValidationPack
from lendscore.reports.plots import (
    plot_bad_rate_by_band,
    plot_band_shares,
    plot_calibration,
    plot_ks,
    plot_roc,
    plot_score_distribution,
    plot_woe,
    score_hist,
)
from lendscore.reports.tables import cutoff_strategy, gains_table, rank_ordering

__all__ = [
    "ReportContext",
    "SplitResult",
    "ValidationPack",
    "build_pack",
    "build_view",
    "cutoff_strategy",
    "gains_table",
    "plot_bad_rate_by_band",
    "plot_band_shares",
    "plot_calibration",
    "plot_ks",
    "plot_roc",
    "plot_score_distribution",
    "plot_woe",
    "rank_ordering",
    "render_report",
    "score_hist",
    "write_pack",
    "write_report",
]

"""The HTML monitoring report: compute -> render -> template.

Input is what :mod:`lendscore.monitoring` computed (a :class:`~lendscore.monitoring.DriftResult`,
a :class:`~lendscore.monitoring.PerformanceResult`, alerts and retraining decisions) gathered in a
:class:`MonitoringContext`; :func:`build_monitoring_view` makes the tables and figures (PSI over
time, score distribution shift, AUC and KS by vintage, calibration by grade), and the autoescaped
template ``templates/monitoring.html.j2`` renders them into one self-contained page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from lendscore.monitoring.drift import PSI_MODERATE, PSI_SIGNIFICANT
from lendscore.reports import plots
from lendscore.reports.html import _environment, _info_rows, _table, figure_to_data_uri

__all__ = [
    "MonitoringContext",
    "plot_psi_over_time",
    "plot_score_shift",
    "plot_vintage_metrics",
    "build_monitoring_view",
    "render_monitoring_report",
    "write_monitoring_report",
]


@dataclass
class MonitoringContext:
    """Everything the monitoring report shows (any part may be None or empty)."""

    title: str
    model_info: dict[str, Any]
    drift: Any = None
    performance: Any = None
    alerts: list[Any] = field(default_factory=list)
    retrain: list[dict[str, Any]] = field(default_factory=list)
    outcome_rejections: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)


def _thresholds(ax) -> None:
    ax.axhline(PSI_MODERATE, color="#e67e22", lw=0.9, ls="--", label=f"{PSI_MODERATE:.2f} moderate")
    ax.axhline(PSI_SIGNIFICANT, color=plots.BAD_COLOUR, lw=0.9, ls="--", label=f"{PSI_SIGNIFICANT:.2f} significant")


def plot_psi_over_time(drift, *, top: int = 5) -> Figure:
    """Score PSI and the CSI of the ``top`` most shifted characteristics per period, with the flags."""
    fig = plots.new_figure(7.0, 3.8)
    ax = fig.add_subplot()
    if len(drift.score):
        ax.plot(drift.score["period"], drift.score["psi"], "o-", color="black", lw=2, label="score PSI")
    c = drift.characteristics
    if len(c):
        worst = c.groupby("characteristic")["psi"].max().sort_values(ascending=False).head(top).index
        for name in worst:
            rows = c[c["characteristic"] == name]
            ax.plot(rows["period"], rows["psi"].clip(upper=2.0), ".-", lw=1, label=f"CSI {name}")
    _thresholds(ax)
    ax.set(xlabel="period", ylabel="PSI (CSI clipped at 2)", title="Population stability over time")
    ax.set_ylim(bottom=0)
    ax.tick_params(axis="x", labelrotation=90, labelsize=7)
    ax.legend(fontsize=7, ncols=2)
    return fig


def plot_score_shift(drift, periods: list[str] | None = None) -> Figure:
    """Share of rows per reference score bin: training against selected periods (default first and last)."""
    b = drift.bins[drift.bins["characteristic"] == "score"] if len(drift.bins) else drift.bins
    fig = plots.new_figure(6.0, 3.6)
    ax = fig.add_subplot()
    if b is None or len(b) == 0:
        ax.text(0.5, 0.5, "no score reference", ha="center", transform=ax.transAxes)
        return fig
    all_periods = list(dict.fromkeys(b["period"]))
    chosen = periods or list(dict.fromkeys([all_periods[0], all_periods[-1]]))
    first = b[b["period"] == all_periods[0]]
    x = np.arange(len(first))
    width = 0.8 / (len(chosen) + 1)
    ax.bar(x - 0.4 + width / 2, first["expected_share"], width, color="#999999", label="training")
    for k, (p, colour) in enumerate(zip(chosen, plots.SPLIT_COLOURS * 4, strict=False), start=1):
        rows = b[b["period"] == p]
        psi_value = drift.score.set_index("period")["psi"].get(p, np.nan)
        ax.bar(
            x - 0.4 + width / 2 + k * width,
            rows["actual_share"],
            width,
            color=colour,
            label=f"{p} (PSI {psi_value:.3f})",
        )
    ax.set_xticks(x, first["label"], rotation=45, ha="right", fontsize=7)
    ax.set(xlabel="score bin (training deciles)", ylabel="share", title="Score distribution shift")
    ax.legend(fontsize=7)
    return fig


def plot_vintage_metrics(vintages: pd.DataFrame) -> Figure:
    """AUC and KS of the matured vintages, with the observed bad rate on a second axis."""
    fig = plots.new_figure(6.4, 3.6)
    ax = fig.add_subplot()
    v = vintages[vintages["matured"]]
    ax.plot(v["vintage"], v["auc"], "o-", color="#1f4e79", label="AUC")
    ax.plot(v["vintage"], v["ks"], "s-", color="#e67e22", label="KS")
    ax.set(xlabel="vintage (month of decision)", ylabel="AUC / KS", title="Discrimination by vintage")
    ax.set_ylim(0, 1)
    ax2 = ax.twinx()
    ax2.bar(v["vintage"], v["bad_rate"], color=plots.BAD_COLOUR, alpha=0.18, label="bad rate")
    ax2.set_ylabel("observed bad rate")
    ax2.set_ylim(0, max(0.5, float(np.nanmax(v["bad_rate"])) * 2 if len(v) else 0.5))
    ax.tick_params(axis="x", labelrotation=90, labelsize=7)
    lines = ax.get_legend_handles_labels()
    bars = ax2.get_legend_handles_labels()
    ax.legend(lines[0] + bars[0], lines[1] + bars[1], fontsize=7, loc="lower left")
    return fig


_PCT = "{:.2%}"


def build_monitoring_view(ctx: MonitoringContext) -> dict[str, Any]:
    """Every table and figure of the monitoring report, as template variables."""
    d, p = ctx.drift, ctx.performance
    view: dict[str, Any] = {
        "title": ctx.title,
        "model_info": _info_rows(ctx.model_info),
        "notes": list(ctx.notes),
        "drift": None,
        "performance": None,
        "outcome_rejections": ctx.outcome_rejections,
    }
    if d is not None:
        notes = list(d.notes)
        latest = (
            d.characteristics[d.characteristics["period"] == d.characteristics["period"].max()]
            if len(d.characteristics)
            else d.characteristics
        )
        inputs = d.inputs
        flagged_inputs = (
            inputs[(inputs["missing_shift"].abs() > 0.02) | (inputs["out_of_range_rate"] > 0)]
            if len(inputs)
            else inputs
        )
        w = getattr(d, "warnings", None)
        warnings = (
            w.sort_values(["period", "n"], ascending=[True, False], kind="stable") if w is not None and len(w) else None
        )
        view["drift"] = {
            "period": d.period,
            "notes": notes,
            "reference": d.reference.source,
            "warnings": _table(warnings, {"rate": _PCT}) if warnings is not None else None,
            "n_warnings": int(w["n"].sum()) if w is not None and len(w) else 0,
            "psi_figure": figure_to_data_uri(plot_psi_over_time(d)),
            "shift_figure": figure_to_data_uri(plot_score_shift(d)),
            "score": _table(d.score, {"psi": "{:.4f}", "chi2": "{:.1f}", "p_value": "{:.3g}"}),
            "latest_csi": _table(
                latest.sort_values("psi", ascending=False), {"psi": "{:.4f}", "chi2": "{:.1f}", "p_value": "{:.3g}"}
            ),
            "inputs": _table(
                flagged_inputs,
                {
                    "missing_rate": _PCT,
                    "train_missing_rate": _PCT,
                    "missing_shift": "{:+.2%}",
                    "missing_p_value": "{:.3g}",
                    "n_out_of_range": "{:.0f}",
                    "out_of_range_rate": _PCT,
                },
            ),
        }
    if p is not None:
        cal = p.calibration
        view["performance"] = {
            "as_of": f"{p.as_of:%Y-%m-%d}",
            "maturity_months": p.maturity_months,
            "notes": list(p.notes),
            "vintages": _table(
                p.vintages,
                {
                    c: _PCT
                    for c in (
                        "approval_rate",
                        "refer_rate",
                        "decline_rate",
                        "coverage",
                        "bad_rate",
                        "bad_rate_approved",
                        "mean_pd",
                    )
                }
                | {"auc": "{:.4f}", "ks": "{:.4f}"},
            ),
            "vintage_figure": figure_to_data_uri(plot_vintage_metrics(p.vintages))
            if p.vintages["matured"].any()
            else None,
            "calibration": _table(
                cal.rename(columns={"group": "grade"}),
                {
                    "predicted_pd": "{:.4f}",
                    "observed_rate": "{:.4f}",
                    "binomial_p_value": "{:.3g}",
                    "flag": lambda f: "miscalibrated (p < 0.05)" if f else "",
                },
            ),
            "calibration_figure": figure_to_data_uri(
                plots.plot_calibration(cal, title="Calibration by grade (matured vintages)")
            )
            if len(cal)
            else None,
        }
    view["alerts"] = [a.to_dict() if hasattr(a, "to_dict") else dict(a) for a in ctx.alerts]
    view["retrain"] = [
        {
            "label": r.get("label", ""),
            "summary": r.get("summary", ""),
            "promote": r.get("promote"),
            "steps": _table(
                pd.DataFrame(
                    [
                        {k: (str(v) if isinstance(v, (dict, list)) else v) for k, v in s.items()}
                        for s in r.get("steps", [])
                    ]
                )
            ),
        }
        for r in ctx.retrain
    ]
    return view


def render_monitoring_report(ctx: MonitoringContext) -> str:
    """The monitoring report as one self-contained HTML string."""
    return _environment().get_template("monitoring.html.j2").render(**build_monitoring_view(ctx))


def write_monitoring_report(ctx: MonitoringContext, path: str | PathLike[str]) -> Path:
    """Render the report and write it to ``path`` (UTF-8); returns the path written."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_monitoring_report(ctx), encoding="utf-8")
    return target

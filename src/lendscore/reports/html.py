"""The HTML validation report: compute -> render -> template.

:func:`render_report` takes a :class:`ReportContext` (what a fitted scorecard and its validation
produced), computes the tables and figures (:func:`build_view`), and renders the Jinja2 template
``templates/report.html.j2`` (autoescaped) into one self-contained HTML page with figures embedded
as base64 PNG.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from lendscore.errors import LendscoreError
from lendscore.reports import plots
from lendscore.validation import calibration_by_group, confusion, evaluate, hosmer_lemeshow

__all__ = ["SplitResult", "ReportContext", "build_view", "render_report", "write_report"]

_TEMPLATES = Path(__file__).parent / "templates"
_DPI = 90

# (key of the evaluate dict, label, format); the AUC row also shows its bootstrap interval.
METRIC_ROWS: tuple[tuple[str, str, str], ...] = (
    ("n", "rows", "{:,}"),
    ("n_event", "defaults (events)", "{:,}"),
    ("event_rate", "default rate", "{:.2%}"),
    ("auc", "ROC AUC [95% bootstrap CI]", "{:.4f}"),
    ("gini", "Gini (2 AUC - 1)", "{:.4f}"),
    ("ks", "KS", "{:.4f}"),
    ("brier", "Brier score", "{:.4f}"),
    ("log_loss", "log loss", "{:.4f}"),
    ("threshold", "PD cut-off", "{:.4f}"),
    ("accuracy", "accuracy at cut-off", "{:.4f}"),
    ("precision", "precision (defaults) at cut-off", "{:.4f}"),
    ("recall", "recall (defaults) at cut-off", "{:.4f}"),
    ("f1", "F1 at cut-off", "{:.4f}"),
)


@dataclass
class SplitResult:
    """Outcome and model output on one sample (train, test, out-of-time ...).

    ``metrics`` is the :func:`lendscore.validation.evaluate` dict; when None it is computed at the
    report's cut-off when rendering.
    """

    y: np.ndarray
    pd: np.ndarray
    score: np.ndarray
    grade: np.ndarray
    metrics: dict[str, Any] | None = None


@dataclass
class ReportContext:
    """Everything the validation report shows; see docs/architecture.md for the table layouts.

    ``model_info`` holds name, version, created, training data fingerprint, n features and
    parameters (any other keys are shown too). ``grades`` is the master scale, a list of dicts
    ``grade, pd_min, pd_max, score_min, score_max``. ``data_quality`` is optional:
    ``{"rows_in", "rows_out", "rules": [{"rule", "column", "action", "n_rows"}]}``.
    """

    title: str
    model_info: dict[str, Any]
    splits: dict[str, SplitResult]
    threshold: float
    threshold_rule: str
    coef_table: pd.DataFrame
    points_table: pd.DataFrame
    selection: pd.DataFrame
    grades: list[dict[str, Any]]
    data_quality: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)


def figure_to_data_uri(fig: Figure) -> str:
    """PNG ``data:`` URI of a figure; the figure is cleared afterwards to free its artists."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=_DPI)
    fig.clear()
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


Format = str | Callable[[Any], str]
"""A cell format: a ``str.format`` pattern, or a function of the value."""


def _fmt(value: Any, spec: Format = "{:.4g}") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if callable(spec):
        return spec(value)
    try:
        return spec.format(value)
    except (ValueError, TypeError):
        return str(value)


def _table(df: pd.DataFrame, formats: Mapping[str, Format] | None = None, *, index: bool = False) -> dict[str, Any]:
    """A DataFrame as header + rows of strings for the template (numbers formatted per column)."""
    frame = df.reset_index() if index else df
    formats = dict(formats or {})
    columns = [str(c) for c in frame.columns]
    rows = []
    for record in frame.itertuples(index=False):
        cells = []
        for col, value in zip(columns, record, strict=True):
            default = "{:.4g}" if isinstance(value, float | np.floating) else "{}"
            cells.append(_fmt(value.item() if isinstance(value, np.generic) else value, formats.get(col, default)))
        rows.append(cells)
    return {"columns": columns, "rows": rows}


def _metrics_table(metrics: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    rows = []
    for key, label, spec in METRIC_ROWS:
        cells = [label]
        for m in metrics.values():
            text = _fmt(m.get(key), spec)
            if key == "auc" and m.get("auc_ci_low") is not None:
                text += f" [{m['auc_ci_low']:.4f}, {m['auc_ci_high']:.4f}]"
            cells.append(text)
        rows.append(cells)
    return {"columns": ["metric", *metrics], "rows": rows}


def _confusion_view(split: SplitResult, threshold: float) -> dict[str, Any]:
    cm = confusion(split.y, split.pd, threshold)
    (tn, fp), (fn, tp) = cm.to_numpy().tolist()
    return {
        "tn": tn,
        "fp": fp,
        "fn": fn,
        "tp": tp,
        "n": tn + fp + fn + tp,
        "declined_share": (tp + fp) / max(tn + fp + fn + tp, 1),
    }


def _calibration_view(name: str, split: SplitResult) -> dict[str, Any]:
    table = calibration_by_group(split.y, split.pd, split.grade)
    try:
        hl = hosmer_lemeshow(split.y, split.pd)
        hl_text = f"statistic {hl.statistic:.3f} on {hl.df} degrees of freedom, p-value {hl.p_value:.4g}"
        hl_pass = hl.p_value >= 0.05
    except LendscoreError as e:  # too few rows, or degenerate PD: say so instead of failing the report
        hl_text, hl_pass = f"not computed: {e}", None
    formats: dict[str, Format] = {
        "predicted_pd": "{:.4f}",
        "observed_rate": "{:.4f}",
        "binomial_p_value": "{:.4g}",
        "flag": lambda f: "miscalibrated (p < 0.05)" if f else "",
    }
    view = _table(table.rename(columns={"group": "grade"}), formats)
    view.update(
        name=name,
        hl_text=hl_text,
        hl_pass=hl_pass,
        n_flagged=int(table["flag"].sum()),
        figure=figure_to_data_uri(plots.plot_calibration(table, title=f"Calibration by grade ({name})")),
    )
    return view


def _info_rows(info: Mapping[str, Any]) -> list[tuple[str, str]]:
    rows = []
    for key, value in info.items():
        if isinstance(value, Mapping):
            value = ", ".join(f"{k}={v}" for k, v in value.items())
        elif isinstance(value, list | tuple):
            value = ", ".join(map(str, value))
        rows.append((str(key).replace("_", " "), str(value)))
    return rows


def build_view(ctx: ReportContext) -> dict[str, Any]:
    """Compute every table and figure of the report (the "compute" step) as template variables."""
    metrics = {
        name: s.metrics if s.metrics is not None else evaluate(s.y, s.pd, ctx.threshold)
        for name, s in ctx.splits.items()
    }
    splits = ctx.splits.items()
    points = ctx.points_table
    characteristics = list(dict.fromkeys(points["characteristic"])) if len(points) else []
    dq = ctx.data_quality
    ks_figures, dist_figures = {}, {}
    for name, s in splits:
        ks_figures[name] = figure_to_data_uri(plots.plot_ks(s.y, s.score, title=f"KS ({name})"))
        dist = plots.plot_score_distribution(s.y, s.score, title=f"Score distribution ({name})")
        dist_figures[name] = figure_to_data_uri(dist)
    return {
        "title": ctx.title,
        "model_info": _info_rows(ctx.model_info),
        "split_names": list(ctx.splits),
        "metrics": _metrics_table(metrics),
        "threshold": ctx.threshold,
        "threshold_rule": ctx.threshold_rule,
        "confusion": {name: _confusion_view(s, ctx.threshold) for name, s in splits},
        "roc_figure": figure_to_data_uri(plots.plot_roc({name: (s.y, s.pd) for name, s in splits})),
        "ks_figures": ks_figures,
        "dist_figures": dist_figures,
        "calibration": [_calibration_view(name, s) for name, s in splits],
        "grades": _table(
            pd.DataFrame(ctx.grades),
            {"pd_min": "{:.2%}", "pd_max": "{:.2%}", "score_min": "{:.0f}", "score_max": "{:.0f}"},
        ),
        "coef_table": _table(ctx.coef_table, {"p_value": "{:.3g}"}, index=True),
        "selection": _table(ctx.selection, {"iv": "{:.4f}", "selected": lambda s: "yes" if s else "no"}),
        "n_selected": int(ctx.selection["selected"].sum()) if "selected" in ctx.selection else None,
        "points_table": _table(points, {"event_rate": "{:.2%}", "woe": "{:.3f}", "iv": "{:.4f}", "points": "{:.0f}"}),
        "woe_figures": [(c, figure_to_data_uri(plots.plot_woe(points, c))) for c in characteristics],
        "data_quality": None
        if dq is None
        else {
            "rows_in": dq.get("rows_in"),
            "rows_out": dq.get("rows_out"),
            "rules": _table(pd.DataFrame(dq.get("rules", []), columns=["rule", "column", "action", "n_rows"])),
        },
        "notes": list(ctx.notes),
    }


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(_TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["fmt"] = _fmt
    return env


def render_report(ctx: ReportContext) -> str:
    """The validation report as one self-contained HTML string."""
    return _environment().get_template("report.html.j2").render(**build_view(ctx))


def write_report(ctx: ReportContext, path: str | PathLike[str]) -> Path:
    """Render the report and write it to ``path`` (UTF-8); returns the path written."""
    target = Path(path)
    target.write_text(render_report(ctx), encoding="utf-8")
    return target

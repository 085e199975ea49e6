"""Formatting shared by the HTML reports: numbers to text, DataFrames to template tables, figures to PNG.

A template table is ``{"columns": [...], "rows": [[cell, ...], ...]}``; a cell is a string, or a
mapping ``{"text": ..., "cls": ...}`` when the template should mark it (a flag, a break).
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

__all__ = [
    "Format",
    "cell",
    "count",
    "figure_to_data_uri",
    "fmt",
    "grid",
    "is_count_column",
    "p_text",
    "p_value",
    "score_range",
    "table",
]

_DPI = 90

Format = str | Callable[[Any], str]
"""A cell format: a ``str.format`` pattern, or a function of the value."""

COUNT = "{:,}"
RATE = "{:.2%}"
SHARE = "{:.1%}"
SCORE = "{:.1f}"
MONEY = "{:,.0f}"


def figure_to_data_uri(fig: Figure, *, dpi: int = _DPI) -> str:
    """PNG ``data:`` URI of a figure; the figure is cleared afterwards to free its artists."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    fig.clear()
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def fmt(value: Any, spec: Format = "{:.4g}") -> str:
    """``value`` formatted by ``spec``; a missing, NaN or infinite number prints as an en dash."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if callable(spec):
        return spec(value)
    try:
        return spec.format(value)
    except (ValueError, TypeError):
        return str(value)


def is_count_column(name: str) -> bool:
    """Counts are named ``n`` or ``n_<what>`` (the glossary); they print as integers."""
    return name == "n" or name.startswith("n_")


def table(df: pd.DataFrame, formats: Mapping[str, Format] | None = None, *, index: bool = False) -> dict[str, Any]:
    """A DataFrame as header + rows of strings for the template (numbers formatted per column).

    Without a format of its own, a float in a count column prints as an integer (``14995``, not
    ``1.5e+04``), any other float with 4 significant digits.
    """
    frame = df.reset_index() if index else df
    formats = dict(formats or {})
    columns = [str(c) for c in frame.columns]
    rows = []
    for record in frame.itertuples(index=False):
        cells = []
        for col, value in zip(columns, record, strict=True):
            if isinstance(value, float | np.floating):
                default = "{:.0f}" if is_count_column(col) else "{:.4g}"
            else:
                default = "{}"
            cells.append(fmt(value.item() if isinstance(value, np.generic) else value, formats.get(col, default)))
        rows.append(cells)
    return {"columns": columns, "rows": rows}


def cell(text: str, cls: str = "") -> dict[str, str]:
    """A cell the template marks with the CSS class ``cls``."""
    return {"text": text, "cls": cls}


def grid(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> dict[str, Any]:
    """A template table from already formatted cells."""
    return {"columns": list(columns), "rows": [list(r) for r in rows]}


def count(v: Any) -> str:
    return fmt(None if v is None else int(round(v)), COUNT)


def p_value(v: float | None) -> str:
    """A p-value: 3 significant digits, scientific below 0.001, and ``< 1e-300`` for an underflow to 0."""
    if v is None or v >= 0.001:
        return fmt(v, "{:.3g}")
    return f"{v:.1e}" if v >= 1e-300 else "< 1e-300"


def p_text(v: float | None) -> str:
    """``p = 0.03``, or ``p < 1e-300``."""
    text = p_value(v)
    return f"p {text}" if text.startswith("<") else f"p = {text}"


def score_range(lo: float | None, hi: float | None) -> str:
    if lo is None and hi is None:
        return "all"
    if lo is None:
        return f"< {hi:.1f}"
    if hi is None:
        return f">= {lo:.1f}"
    return f"[{lo:.1f}, {hi:.1f})"

"""The HTML validation report: compute -> render -> template.

:func:`render_report` takes a :class:`ReportContext` (what a fitted scorecard and its validation
produced), computes the validation pack (:func:`lendscore.reports.pack.build_pack`, every number),
formats it with the figures (:func:`build_view`), and renders the Jinja2 template
``templates/report.html.j2`` (autoescaped) into one self-contained HTML page with figures embedded
as base64 PNG. :func:`write_report` can write the pack beside it as JSON (``report.json``).
"""

from __future__ import annotations

from collections.abc import Mapping
from os import PathLike
from pathlib import Path
from typing import Any

import jinja2

from lendscore.reports._format import figure_to_data_uri, fmt, table
from lendscore.reports.context import ReportContext, SplitResult
from lendscore.reports.pack import build_pack, info_items
from lendscore.reports.pack_schema import ValidationPack
from lendscore.reports.view import build_view_from_pack

__all__ = ["SplitResult", "ReportContext", "build_view", "render_report", "write_report", "write_pack"]

_TEMPLATES = Path(__file__).parent / "templates"

# the monitoring report builds its page with these
_fmt = fmt
_table = table
_figure_to_data_uri = figure_to_data_uri


def _info_rows(info: Mapping[str, Any]) -> list[tuple[str, str]]:
    return [(i.key, i.value) for i in info_items(info)]


def build_view(ctx: ReportContext, pack: ValidationPack | None = None) -> dict[str, Any]:
    """Every table (formatted) and figure of the report, as template variables."""
    return build_view_from_pack(ctx, pack if pack is not None else build_pack(ctx))


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(_TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["fmt"] = fmt
    return env


def render_report(ctx: ReportContext, pack: ValidationPack | None = None) -> str:
    """The validation report as one self-contained HTML string."""
    return _environment().get_template("report.html.j2").render(**build_view(ctx, pack))


def write_pack(pack: ValidationPack, path: str | PathLike[str]) -> Path:
    """The validation pack as indented JSON (UTF-8); returns the path written."""
    target = Path(path)
    target.write_text(pack.model_dump_json(indent=1) + "\n", encoding="utf-8")
    return target


def write_report(
    ctx: ReportContext, path: str | PathLike[str], *, json_path: str | PathLike[str] | None = None
) -> Path:
    """Render the report and write it to ``path`` (UTF-8); with ``json_path``, write the same
    validation pack there as JSON. Returns the HTML path."""
    pack = build_pack(ctx)
    target = Path(path)
    target.write_text(render_report(ctx, pack), encoding="utf-8")
    if json_path is not None:
        write_pack(pack, json_path)
    return target

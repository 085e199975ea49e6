"""``lendscore fairness``: approval and default rates by group, the four-fifths screen, the standardised
mean score difference and calibration within groups, from the command line.

Protected attributes are never model inputs and are often kept apart from the applications: the
group column is read from the scored file itself or from a separate file joined by an id column.
The statistics are :func:`lendscore.decision.fairness_report`'s; a group smaller than
``--min-group-size`` is listed as too small to judge (its figures shown, no screen applied), never
dropped.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from lendscore.cli._app import app
from lendscore.errors import DataError


def _scores(frame: Any, model_path: Path | None, drop: list[str]) -> tuple[Any, Any]:
    """Scores and PDs of the rows: a score output's or a decide output's own, else the model's."""
    for score_col, pd_col in (("lendscore_score", "lendscore_pd"), ("score", "pd")):
        if score_col in frame.columns:
            pds = frame[pd_col].to_numpy(dtype=float) if pd_col in frame.columns else None
            return frame[score_col].to_numpy(dtype=float), pds
    if model_path is None:
        raise DataError(
            "no score column (lendscore_score or score): give --model to score the rows, "
            "or a file written by `lendscore score` / `lendscore decide`"
        )
    import lendscore

    details = lendscore.load(model_path).score_details(frame.drop(columns=drop, errors="ignore"))
    return details["score"].to_numpy(), details["pd"].to_numpy()


@app.command("fairness")
def fairness_command(
    data: Annotated[
        Path, typer.Argument(metavar="DATA", help="scored applications with outcomes (.csv/.parquet/.jsonl)")
    ],
    group: Annotated[str, typer.Option("--group", help="column holding the group (e.g. age band)")],
    target: Annotated[str, typer.Option("--target", help="outcome column")],
    bad: Annotated[list[str], typer.Option("--bad", help="value(s) of the outcome meaning default")],
    groups: Annotated[
        Path | None, typer.Option("--groups", help="file holding the group column, joined by --id-column")
    ] = None,
    id_column: Annotated[str | None, typer.Option("--id-column", help="id shared by DATA and --groups")] = None,
    model: Annotated[Path | None, typer.Option("--model", help="score the rows with this model first")] = None,
    cutoff: Annotated[float | None, typer.Option("--cutoff", help="approve when score >= cutoff")] = None,
    approval_rate: Annotated[
        float | None, typer.Option("--approval-rate", help="approve this share of rows (instead of --cutoff)")
    ] = None,
    reference: Annotated[
        str | None, typer.Option("--reference", help="reference group (default: highest approval rate)")
    ] = None,
    min_group_size: Annotated[int, typer.Option("--min-group-size", min=1, help="smaller groups are not judged")] = 30,
    out: Annotated[Path | None, typer.Option("--out", help="write the figures as JSON here")] = None,
    plot: Annotated[Path | None, typer.Option("--plot", help="write the approval-rate plot here (.png)")] = None,
) -> None:
    """Approval and default rates by group, four-fifths screen, score gap and calibration."""
    import numpy as np
    from rich.console import Console
    from rich.table import Table

    from lendscore.cli._console import read_records
    from lendscore.decision import fairness_report

    if (cutoff is None) == (approval_rate is None):
        raise DataError("give exactly one of --cutoff SCORE or --approval-rate SHARE")
    if approval_rate is not None and not 0 < approval_rate < 1:
        raise DataError(f"--approval-rate must be in (0, 1); got {approval_rate}")
    frame = read_records(data)
    if groups is not None:
        if id_column is None:
            raise DataError("--groups needs --id-column (the id shared by the two files)")
        side = read_records(groups)
        for name, f, where in ((id_column, frame, data), (id_column, side, groups), (group, side, groups)):
            if name not in f.columns:
                raise DataError(f"column {name!r} is missing", source=str(where), column=name)
        frame = frame.merge(side[[id_column, group]], on=id_column, how="left", validate="one_to_one")
    for name in (group, target):
        if name not in frame.columns:
            raise DataError(f"column {name!r} is missing", source=str(data), column=name)
    if frame[group].isna().any():
        raise DataError(
            f"{group} is missing for {int(frame[group].isna().sum())} rows (every row needs its group)", column=group
        )
    if frame[group].nunique() < 2:
        raise DataError(f"{group} has a single value ({frame[group].iloc[0]!r}): nothing to compare", column=group)
    score, pds = _scores(frame, model, [target, group])
    y = frame[target].astype(str).isin(bad).astype(int).to_numpy()
    if cutoff is None:
        cutoff = float(np.quantile(score, 1 - float(approval_rate or 0)))
    rep = fairness_report(
        score, y, frame[group].to_numpy(), cutoff=cutoff, pds=pds, reference=reference, attribute=group
    )
    table = rep.by_group.copy()
    table["too_small"] = table["n"] < min_group_size
    table["four_fifths"] = table["four_fifths"].astype(object)
    table.loc[table["too_small"], "four_fifths"] = None  # not judged
    shown = Table(title=f"fairness by {group}: approve when score >= {cutoff:g}; reference {rep.reference!r}")
    for h in ("group", "n", "approval", "default", "AIR", "4/5 screen", "SMD", "mean PD"):
        shown.add_column(h, justify="right")
    for g, r in table.iterrows():
        screen = "too small" if r["too_small"] else ("pass" if r["four_fifths"] else "FLAG")
        shown.add_row(
            str(g),
            f"{int(r['n']):,}",
            f"{r['approval_rate']:.1%}",
            f"{r['default_rate']:.1%}",
            f"{r['air']:.2f}",
            screen,
            f"{r['smd']:+.2f}",
            f"{r['mean_pd']:.3f}" if "mean_pd" in r else "-",
        )
    Console(width=max(Console().width, 100)).print(shown)
    small = [str(g) for g in table.index[table["too_small"]]]
    if small:
        typer.echo(f"too small to judge (fewer than {min_group_size} rows): {small}")
    flagged = [str(g) for g, r in table.iterrows() if not r["too_small"] and not r["four_fifths"]]
    typer.echo(f"below four fifths of the reference's approval rate: {flagged or 'none'}")
    if out is not None:
        doc = {
            "attribute": group,
            "cutoff": cutoff,
            "reference": rep.reference,
            "min_group_size": min_group_size,
            "by_group": json.loads(table.reset_index().to_json(orient="records", double_precision=15)),
            "calibration": None
            if rep.calibration is None
            else json.loads(rep.calibration.to_json(orient="records", double_precision=15)),
            "too_small": small,
            "flagged": flagged,
        }
        out.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        typer.echo(f"wrote {out}")
    if plot is not None:
        from matplotlib.figure import Figure

        fig = Figure(figsize=(6, 3.5))
        ax = fig.subplots()
        ax.bar(
            [str(g) for g in table.index],
            table["approval_rate"],
            color=["#999" if s else "#3a6" for s in table["too_small"]],
        )
        ref_rate = float(table.loc[rep.reference, "approval_rate"])
        ax.axhline(0.8 * ref_rate, color="#c33", linestyle="--", label="four fifths of the reference")
        ax.set_ylabel("approval rate")
        ax.set_title(f"approval rate by {group} (grey: too small to judge)")
        ax.legend(loc="lower right")
        fig.tight_layout()
        fig.savefig(plot, dpi=120)
        typer.echo(f"wrote {plot}")

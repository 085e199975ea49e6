"""``lendscore score``: add pd, score, grade and points to every row of a file, streamed in chunks."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lendscore.cli._app import app


@app.command("score")
def score_command(
    model: Annotated[Path, typer.Option("--model", help="model.json written by `lendscore train`")],
    input: Annotated[Path, typer.Option("--input", help="CSV, CSV.gz or Parquet file of applicants")],
    output: Annotated[Path, typer.Option("--output", help="CSV or Parquet file to write")],
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="rows per chunk")] = 100_000,
    points: Annotated[bool, typer.Option("--points/--no-points", help="also write points per characteristic")] = True,
    prefix: Annotated[
        str,
        typer.Option("--prefix", help="prefix of the added columns (never empty: an output must not shadow an input)"),
    ] = "lendscore_",
) -> None:
    """Score a file in chunks with a progress bar; memory stays bounded by the chunk size."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    import lendscore
    from lendscore.scoring import score_file

    m = lendscore.load(model)
    with Progress(
        TextColumn("scoring"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("rows"),
        TimeElapsedColumn(),
        transient=False,
    ) as progress:
        task = progress.add_task("score", total=None)
        n = score_file(
            m,
            input,
            output,
            batch_size=batch_size,
            with_points=points,
            prefix=prefix,
            on_total=lambda total: progress.update(task, total=total),
            on_batch=lambda k: progress.advance(task, k),
            on_note=lambda msg: progress.console.print(f"note: {msg}"),
        )
    typer.echo(f"scored {n:,} rows -> {output}")


@app.command("export-sql")
def export_sql_command(
    model: Annotated[Path, typer.Option("--model", help="model.json written by `lendscore train`")],
    table: Annotated[
        str,
        typer.Option("--table", help="table holding the raw applicant rows: name, schema.name or catalog.schema.name"),
    ] = "applicants",
    dialect: Annotated[
        str, typer.Option("--dialect", help="duckdb, sqlite, postgres, spark, bigquery, snowflake or tsql")
    ] = "duckdb",
    id_column: Annotated[str | None, typer.Option("--id-column", help="column to carry into the output")] = None,
    columns: Annotated[
        str | None,
        typer.Option(
            "--columns",
            help="the table's columns, comma-separated: a raw field not listed reads as NULL, a "
            "derived column listed is used where its raw fields are missing (default: the "
            "model's raw fields and non-derived inputs)",
        ),
    ] = None,
    decision_date: Annotated[
        str | None,
        typer.Option(
            "--decision-date",
            help="YYYY-MM-DD dating rows without an application date (default: the database's current date, UTC)",
        ),
    ] = None,
) -> None:
    """Print the scorecard as one SQL query over raw applicant rows.

    The query derives the model inputs from the raw rows (the model file's declared derivation)
    and returns pd, score, grade and the points per characteristic.
    """
    import lendscore
    from lendscore.model.sql import to_sql

    names = None if columns is None else [c.strip() for c in columns.split(",") if c.strip()]
    typer.echo(
        to_sql(
            lendscore.load(model),
            tuple(table.split(".")),  # schema.table: each part its own quoted identifier
            dialect=dialect,
            id_column=id_column,
            columns=names,
            decision_date=decision_date,
        )
    )

"""``lendscore train`` (your data) and ``lendscore demo`` (bundled Lending Club, end to end)."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from lendscore.cli._app import BadOpt, ProfileOpt, SqlOpt, TargetOpt, app
from lendscore.cli._console import console, metrics_table, step_printer


def _write_outputs(
    result,
    out: Path,
    title: str | None = None,
    *,
    compare: tuple[Any, str] | None = None,
    label: str = "this model",
    segment: str | None = None,
) -> None:
    """Write model.json, metrics.json, report.html and report.json; nothing lands in ``out`` unless
    all succeed. ``compare``, ``label`` and ``segment`` go to the report (see write_training_report)."""
    from lendscore.reports.from_training import write_training_report

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".lendscore-", dir=out.parent))
    try:
        result.model.save(staging / "model.json")
        (staging / "metrics.json").write_text(json.dumps(result.metrics, indent=2) + "\n", encoding="utf-8")
        write_training_report(result, staging / "report.html", title, compare, label=label, segment=segment)
        out.mkdir(exist_ok=True)
        for f in staging.iterdir():
            f.replace(out / f.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


@app.command("train")
def train_command(
    data: Annotated[
        str,
        typer.Argument(
            metavar="DATA", help="CSV, CSV.gz or Parquet file, a DuckDB file, or a SQLAlchemy URL (with --sql)"
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="folder for model.json, report.html, report.json, metrics.json")],
    target: TargetOpt = None,
    bad: BadOpt = "1",
    profile: ProfileOpt = None,
    sql: SqlOpt = None,
    time_column: Annotated[
        str | None, typer.Option("--time-column", help="date column for an out-of-time test")
    ] = None,
    test_from: Annotated[
        str | None, typer.Option("--test-from", help="rows dated from here on are the test set")
    ] = None,
    test_size: Annotated[float | None, typer.Option("--test-size", help="random stratified test share")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="seed of the random split")] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="scorecard.toml with \\[scorecard] and \\[split] tables")
    ] = None,
    segment: Annotated[
        str | None,
        typer.Option("--segment", help="column of DATA to show test AUC, Gini and KS by (need not be a model input)"),
    ] = None,
    streaming: Annotated[
        bool,
        typer.Option(
            "--streaming",
            help="train out of core from a Parquet file or folder, or a --sql query, in Arrow batches (automatic above "
            f"{STREAMING_BYTES // 2**30} GB): all rows train, no split or report; writes model.json and metrics.json",
        ),
    ] = False,
) -> None:
    """Train, validate and save a scorecard on a file of loans with known outcomes."""
    from lendscore.config import load_config
    from lendscore.training import train_scorecard

    cfg = load_config(config)
    if streaming or _large_parquet(data):
        _train_streaming(data, out, target, bad, cfg, sql, profile=profile, test_from=test_from, segment=segment)
        return
    result = train_scorecard(
        data,
        target=target,
        bad=bad,
        profile=profile,
        sql=sql,
        config=cfg,
        time_column=time_column,
        test_from=test_from,
        test_size=test_size,
        seed=seed,
        segment=segment,
        step=step_printer(),
    )
    _write_outputs(result, out, segment=segment)
    _summary(result, out)


#: A Parquet source (file or folder) larger than this on disk is trained out of core.
STREAMING_BYTES = 2 * 2**30


def _large_parquet(data: str) -> bool:
    p = Path(data)
    if p.is_dir():
        files = list(p.glob("*.parquet"))
    elif p.suffix == ".parquet" and p.exists():
        files = [p]
    else:
        return False
    return bool(files) and sum(f.stat().st_size for f in files) > STREAMING_BYTES


def _train_streaming(data: str, out: Path, target, bad, cfg, sql: str | None, **unsupported) -> None:
    """``train --streaming``: :func:`lendscore.outofcore.fit_parquet` (or, with ``--sql``,
    :func:`~lendscore.outofcore.fit_sql` on a database), then model.json and metrics.json written
    together (nothing lands in ``out`` unless both are)."""
    import time

    from lendscore.errors import ConfigError
    from lendscore.model.scorecard import Scorecard
    from lendscore.outofcore import fit_parquet, fit_sql

    given = [k for k, v in unsupported.items() if v is not None]
    if given:
        raise ConfigError(f"--streaming trains on Parquet or a --sql query with --target; it does not take {given}")
    if target is None:
        raise ConfigError("--streaming needs --target COLUMN (and --bad VALUE)")
    console.print(f"training out of core on {escape(data)} (Arrow batches, three passes)")
    t0 = time.perf_counter()
    estimator = Scorecard(**cfg.scorecard.estimator_params())
    if sql is None:
        model = fit_parquet(data, target=target, bad=bad, model=estimator)
    else:
        model = fit_sql(data, sql, target=target, bad=bad, model=estimator)
    seconds = time.perf_counter() - t0
    n = int(model.data_fingerprint_["n_rows"])
    metrics = {"fit_seconds": seconds, "n_train": n, "n_patterns": int(model.n_patterns_), "path": "out-of-core"}
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".lendscore-", dir=out.parent))
    try:
        model.save(staging / "model.json", source=Path(data).name, target=target, n_train=n)
        (staging / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
        out.mkdir(exist_ok=True)
        for f in staging.iterdir():
            f.replace(out / f.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    console.print(
        f"[bold]model[/]: {len(model.selected_features_)} characteristics, {len(model.rules_)} interaction rules, "
        f"{n:,} rows in {model.n_patterns_:,} patterns, fitted in {seconds:.1f} s"
    )
    console.print(f"wrote [bold]{out / 'model.json'}[/], {out / 'metrics.json'}")


def _summary(result, out: Path) -> None:
    m = result.model
    console.print(
        f"[bold]data quality[/]: {result.data_quality.rows_in:,} rows in, {result.data_quality.rows_out:,} kept"
    )
    for note in result.notes:
        console.print(f"[yellow]note[/]: {escape(note)}")
    console.print(f"[bold]split[/]: {result.split}")
    console.print(
        f"[bold]model[/]: {len(m.selected_features_)} characteristics, {len(m.rules_)} interaction "
        f"rules, fitted in {result.metrics['fit_seconds']:.2f} s; cut-off PD {m.threshold_:.4f} "
        f"({m.threshold_rule_})"
    )
    console.print(metrics_table(result.metrics))
    console.print(
        f"wrote [bold]{out / 'model.json'}[/], {out / 'report.html'}, {out / 'report.json'}, {out / 'metrics.json'}"
    )


@app.command("demo")
def demo_command(
    out: Annotated[Path, typer.Option("--out", help="output folder")] = Path("lendscore-demo"),
) -> None:
    """Train on the bundled Lending Club 2007-2011 data (test out of time on 2011), report, score, decide."""
    from lendscore.data import bundled_path
    from lendscore.training import train_scorecard

    console.rule("[bold]lendscore demo: Lending Club 2007-2011, out-of-time test on 2011")
    result = train_scorecard(
        bundled_path("lending_club"), profile="lending_club_2007_2011", test_from="2011-01-01", step=step_printer()
    )
    from lendscore.cli._demo import FULL_LABEL, VARIANT_LABEL, compare_without_pricing, show_applicants

    console.rule("[bold]how much is borrowed: the same scorecard without Lending Club's own grade, sub-grade and rate")
    variant = train_scorecard(
        bundled_path("lending_club"),
        profile="lending_club_2007_2011_without_pricing",
        test_from="2011-01-01",
        step=step_printer(),
    )
    # the main report carries the two models side by side
    _write_outputs(
        result,
        out,
        "lendscore demo: Lending Club 2007-2011 (out-of-time test on 2011)",
        compare=(variant, VARIANT_LABEL),
        label=FULL_LABEL,
    )
    _write_outputs(
        variant, out / "without_pricing", "lendscore demo: Lending Club 2007-2011 without the lender's pricing"
    )
    _summary(result, out)
    show_applicants(result, out)
    compare_without_pricing(result, variant, out)

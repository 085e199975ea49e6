"""Shared command-line helpers: progress steps, the metrics table, reading record files."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

console = Console()

_COLUMNS = ("auc", "gini", "ks", "brier", "log_loss", "accuracy", "precision", "recall", "f1")


def step_printer():
    def step(msg: str) -> None:
        console.print(f"[dim]...[/] {escape(msg)}")

    return step


def metrics_table(metrics: dict) -> Table:
    """Metrics as rows, samples (train, test) as columns: fits an 80-column terminal."""
    samples = [k for k in ("train", "test") if k in metrics]
    t = Table(title="validation metrics")
    t.add_column("metric")
    for name in samples:
        t.add_column(name, justify="right")
    t.add_row("rows", *(f"{metrics[s]['n']:,}" for s in samples))
    t.add_row("default rate", *(f"{metrics[s]['event_rate']:.4f}" for s in samples))
    for c in _COLUMNS:
        t.add_row(
            c.replace("_", " ").replace("auc", "AUC").replace("ks", "KS"), *(f"{metrics[s][c]:.4f}" for s in samples)
        )
    t.add_row(
        "AUC 95% CI",
        *(
            f"{metrics[s]['auc_ci_low']:.3f} - {metrics[s]['auc_ci_high']:.3f}"
            if metrics[s].get("auc_ci_low") is not None
            else ""
            for s in samples
        ),
    )
    t.add_row("PD cut-off", *(f"{metrics[s]['threshold']:.4f}" for s in samples))
    return t


RECORD_SUFFIXES = ".csv, .csv.gz, .parquet, .json or .jsonl"


def read_records(path: Path):
    """A table of records (applicants, decisions, outcomes) from CSV, Parquet, JSON or JSON lines."""
    import pandas as pd

    from lendscore.errors import DataError

    name = path.name.lower()
    if name.endswith((".csv", ".csv.gz")):
        return pd.read_csv(path)
    if name.endswith(".parquet"):
        return pd.read_parquet(path)
    if name.endswith(".jsonl"):
        return pd.read_json(path, lines=True)
    if name.endswith(".json"):
        return pd.DataFrame(json.loads(path.read_text(encoding="utf-8")))
    raise DataError(f"file must be {RECORD_SUFFIXES}", source=str(path))

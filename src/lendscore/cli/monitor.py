"""``lendscore models ...`` (the registry), ``lendscore monitor`` (drift + performance report) and
``lendscore retrain`` (challenger against champion, promoted only when the rules hold).

The registry directory is ``--registry`` or the ``LENDSCORE_REGISTRY`` environment variable.
Decisions come from a file (.csv, .csv.gz, .parquet, .jsonl, .json) or a SQLite audit database
(.db, .sqlite, .sqlite3; tables ``decisions`` and ``outcomes`` by default).
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from lendscore.cli._app import app
from lendscore.errors import ConfigError, DataError

models_app = typer.Typer(help="Model registry: list, show, promote, retire, roll back.", no_args_is_help=True)
app.add_typer(models_app, name="models")

_SQLITE = (".db", ".sqlite", ".sqlite3")
RegistryOpt = Annotated[Path | None, typer.Option("--registry", help="registry directory (or $LENDSCORE_REGISTRY)")]
ByOpt = Annotated[str | None, typer.Option("--by", help="who makes the change (default: login name)")]
WhyOpt = Annotated[str, typer.Option("--why", help="why (recorded in the history)")]


def _registry(path: Path | None):
    from lendscore.monitoring import Registry

    root = path or (Path(os.environ["LENDSCORE_REGISTRY"]) if os.environ.get("LENDSCORE_REGISTRY") else None)
    if root is None:
        raise ConfigError("give --registry DIR or set LENDSCORE_REGISTRY")
    return Registry(root)


def _echo_json(obj: Any) -> None:
    typer.echo(json.dumps(obj, indent=2, default=str))


@models_app.command("list")
def models_list(registry: RegistryOpt = None) -> None:
    """List registered models with their state."""
    from rich.console import Console
    from rich.table import Table

    reg = _registry(registry)
    table = Table(title=f"models in {reg.root}")
    for h in ("version", "state", "registered", "by", "training window", "auc (oot/test)"):
        table.add_column(h)
    for m in reg.list():
        # `lendscore retrain` records start/end and "oot" metrics; `lendscore train` records from/to and "test"
        tw = m.get("training_window") or {}
        metrics = m.get("metrics") or {}
        oot = (metrics.get("oot") or metrics.get("test") or {}).get("auc")
        table.add_row(m["version"], m["state"], m["registered_at"], m["registered_by"],
                      f"{tw.get('start', tw.get('from', '?'))} .. {tw.get('end', tw.get('to', '?'))}" if tw else "-",
                      f"{oot:.4f}" if isinstance(oot, float) else "-")
    Console(width=120).print(table)


@models_app.command("show")
def models_show(version: str, registry: RegistryOpt = None,
                history: Annotated[bool, typer.Option("--history", help="also print the history")] = False) -> None:
    """Print one model's entry (JSON)."""
    reg = _registry(registry)
    out: dict[str, Any] = {"entry": reg.get(version)}
    if history:
        out["history"] = [h for h in reg.history() if h["version"] == version or version in h.get("before", {})]
    _echo_json(out)


@models_app.command("register")
def models_register(model: Path, registry: RegistryOpt = None, version: str | None = None, by: ByOpt = None,
                    why: WhyOpt = "") -> None:
    """Copy a model file into the registry as a candidate."""
    e = _registry(registry).register(model, version=version, by=by, why=why)
    typer.echo(f"registered {e['version']} as candidate")


@models_app.command("promote")
def models_promote(version: str, registry: RegistryOpt = None, by: ByOpt = None, why: WhyOpt = "") -> None:
    """Make VERSION the champion (the previous champion is retired)."""
    _registry(registry).promote(version, by=by, why=why)
    typer.echo(f"{version} is the champion")


@models_app.command("retire")
def models_retire(version: str, registry: RegistryOpt = None, by: ByOpt = None, why: WhyOpt = "",
                  force: Annotated[bool, typer.Option("--force", help="allow retiring the champion")] = False) -> None:
    """Retire VERSION."""
    _registry(registry).retire(version, by=by, why=why, force=force)
    typer.echo(f"{version} is retired")


@models_app.command("rollback")
def models_rollback(registry: RegistryOpt = None, by: ByOpt = None, why: WhyOpt = "") -> None:
    """Undo the latest promote / retire / set-challenger."""
    event = _registry(registry).rollback(by=by, why=why)
    typer.echo(f"rolled back event {event['undoes']}: states now {event['after']}")


def _read(path: Path, table: str | None = None):
    import pandas as pd

    name = path.name.lower()
    if name.endswith(_SQLITE):
        import sqlite3

        if not path.is_file():
            raise DataError("SQLite audit database not found", source=str(path))
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as con:
            try:
                return pd.read_sql_query(f'SELECT * FROM "{table}"', con)  # table name from our own options
            except (sqlite3.Error, pd.errors.DatabaseError) as exc:
                raise DataError(f"cannot read table {table!r}: {exc}", source=str(path)) from exc
    if name.endswith((".csv", ".csv.gz", ".parquet", ".json", ".jsonl")):
        from lendscore.cli._console import read_records

        return read_records(path)
    raise DataError("file must be .csv, .csv.gz, .parquet, .json, .jsonl or a SQLite .db", source=str(path))


def _expand_inputs(frame):
    """Decisions stored with the inputs as one JSON column ``inputs`` get one ``input.<name>`` column each."""
    import pandas as pd

    if "inputs" not in frame.columns:
        return frame
    parsed = frame["inputs"].map(lambda v: json.loads(v) if isinstance(v, str) else (v or {}))
    wide = pd.DataFrame(list(parsed), index=frame.index).add_prefix("input.")
    return pd.concat([frame.drop(columns="inputs"), wide], axis=1)


@app.command("monitor")
def monitor_command(
    decisions: Annotated[Path, typer.Argument(help="decisions / applications file, or a SQLite audit DB")],
    outcomes: Annotated[Path | None, typer.Option("--outcomes", help="outcomes file (default: the DB's table)")] = None,
    model: Annotated[Path | None, typer.Option("--model", help="model file (default: the registry's champion)")] = None,
    registry: RegistryOpt = None,
    period: Annotated[str, typer.Option("--period", help="D, W or M")] = "M",
    maturity: Annotated[int, typer.Option("--maturity", help="months before a vintage counts as matured")] = 12,
    as_of: Annotated[str | None, typer.Option("--as-of", help="date of the performance read")] = None,
    time_column: Annotated[str, typer.Option("--time-column")] = "created_at",
    model_version: Annotated[str | None, typer.Option("--model-version", help="keep decisions of this version")] = None,
    out: Annotated[Path, typer.Option("--out", help="HTML report")] = Path("monitoring.html"),
    webhook: Annotated[str | None, typer.Option("--webhook", help="POST alerts as JSON here")] = None,
    decisions_table: Annotated[str, typer.Option("--decisions-table")] = "decisions",
    outcomes_table: Annotated[str, typer.Option("--outcomes-table")] = "outcomes",
) -> None:
    """Drift (score PSI, CSI, inputs) and realised performance by vintage; writes the HTML report."""
    import pandas as pd

    import lendscore
    from lendscore.monitoring import collect_alerts, drift, emit, performance_by_vintage, validate_outcomes
    from lendscore.reports.monitoring import MonitoringContext, write_monitoring_report

    if model is None:
        version, model = _registry(registry).champion()
        info = {"model": str(model), "version": version}
    else:
        info = {"model": str(model)}
    scorecard = lendscore.load(model)
    frame = _expand_inputs(_read(decisions, decisions_table))
    if model_version is not None and "model_version" in frame.columns:
        frame = frame[frame["model_version"].astype(str) == model_version]
    if time_column not in frame.columns:
        raise DataError(f"column {time_column!r} is missing (use --time-column)", source=str(decisions))
    frame[time_column] = pd.to_datetime(frame[time_column], utc=True, format="ISO8601")
    d = drift(frame, scorecard, period=period, time_column=time_column)
    perf, rejections = None, None
    o = None
    if outcomes is not None:
        o = _read(outcomes)
    elif decisions.name.lower().endswith(_SQLITE):
        o = _read(decisions, outcomes_table)
    if o is not None and {"decision_id", "outcome", "pd", "grade"} <= set(frame.columns):
        accepted, rej = validate_outcomes(o, frame.rename(columns={time_column: "created_at"}))
        rejections = rej.to_dict(max_rows=20)
        perf = performance_by_vintage(frame.rename(columns={time_column: "created_at"}), accepted,
                                      as_of=as_of, maturity_months=maturity)
    alerts = collect_alerts(d, perf, period=d.score["period"].max() if len(d.score) else None)
    delivery = emit(alerts, webhook_url=webhook)
    ctx = MonitoringContext(title="lendscore monitoring report", model_info=info, drift=d, performance=perf,
                            alerts=alerts, outcome_rejections=rejections)
    write_monitoring_report(ctx, out)
    typer.echo(f"{len(frame)} decisions, {len(alerts)} alerts"
               + (f", webhook {'ok' if delivery['webhook']['ok'] else 'FAILED'}" if delivery["webhook"] else "")
               + (f", outcomes {rejections['n_accepted']} accepted / {rejections['n_rejected']} refused"
                  if rejections else "") + f"; wrote {out}")


@app.command("retrain")
def retrain_command(
    train_from: Annotated[str, typer.Option("--train-from")],
    train_to: Annotated[str, typer.Option("--train-to")],
    oot_from: Annotated[str, typer.Option("--oot-from")],
    oot_to: Annotated[str, typer.Option("--oot-to")],
    out: Annotated[Path, typer.Option("--out", help="where to write the challenger model file")],
    data: Annotated[str, typer.Option("--data", help="data file, or bundled:<name>")] = "bundled:lending_club",
    profile: Annotated[str, typer.Option("--profile")] = "lending_club_2007_2011",
    registry: RegistryOpt = None,
    champion: Annotated[Path | None, typer.Option("--champion", help="champion model (default: registry's)")] = None,
    rules: Annotated[Path | None, typer.Option("--rules", help="JSON file of RetrainRules")] = None,
    version: Annotated[str | None, typer.Option("--version")] = None,
    by: ByOpt = None,
) -> None:
    """Train a challenger, compare it with the champion out of time, promote it only if the rules hold."""
    from lendscore.data import get_profile, load_bundled, prepare, read_table
    from lendscore.monitoring import RetrainRules, retrain

    raw = load_bundled(data.split(":", 1)[1]) if data.startswith("bundled:") else read_table(Path(data))
    X, y, time, _ = prepare(raw, get_profile(profile))
    if time is None:
        raise DataError(f"profile {profile} has no time column: retraining needs dates")
    try:
        r = RetrainRules.model_validate_json(rules.read_text(encoding="utf-8")) if rules else RetrainRules()
    except ValueError as exc:
        raise ConfigError(f"{rules}: invalid retrain rules: {exc}") from exc
    reg = _registry(registry) if (registry or os.environ.get("LENDSCORE_REGISTRY")) else None
    res = retrain(X, y, time, train_window=(train_from, train_to), oot_window=(oot_from, oot_to), model_path=out,
                  champion=champion, registry=reg, rules=r, version=version, by=by)
    for s in res.decision.steps:
        mark = {True: "pass", False: "FAIL", None: "skip"}[s["passed"]]
        typer.echo(f"  [{mark}] {s['step']}: {s['detail']}")
    typer.echo(f"{res.decision.summary}" + (f"; registered {res.version}" if res.version else "")
               + ("; promoted to champion" if res.promoted else ""))

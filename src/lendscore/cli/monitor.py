"""``lendscore models ...`` (the registry), ``lendscore monitor`` (drift + performance report) and
``lendscore retrain`` (challenger against champion, promoted only when the rules hold).

The registry directory is ``--registry`` or the ``LENDSCORE_REGISTRY`` environment variable.

``lendscore monitor SOURCE`` reads any of (:mod:`lendscore.monitoring.sources`): the service's audit
store (a SQLite file .db/.sqlite/.sqlite3 or any SQLAlchemy URL, e.g. ``postgresql+psycopg://...``;
tables ``decisions`` and ``outcomes``), a ``lendscore score`` output, a ``lendscore decide --output``
file (.jsonl, .json, .csv) or a raw file of applications under the model's own column names. Raw
inputs are derived with the model file's derivation and, when the source has no score, scored.

``lendscore retrain DATA`` reads loans exactly as ``lendscore train`` does (a file, a DuckDB file or
a SQLAlchemy URL with ``--sql``; ``--target``/``--bad`` or ``--profile``; ``--time-column``;
``--config scorecard.toml``), or ``bundled:<name>`` (a bundled dataset with its own profile).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from lendscore.cli._app import BadOpt, ProfileOpt, SqlOpt, TargetOpt, app
from lendscore.errors import ConfigError, DataError

models_app = typer.Typer(help="Model registry: list, show, promote, retire, roll back.", no_args_is_help=True)
app.add_typer(models_app, name="models")

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
        table.add_row(
            m["version"],
            m["state"],
            m["registered_at"],
            m["registered_by"],
            f"{tw.get('start', tw.get('from', '?'))} .. {tw.get('end', tw.get('to', '?'))}" if tw else "-",
            f"{oot:.4f}" if isinstance(oot, float) else "-",
        )
    Console(width=120).print(table)


@models_app.command("show")
def models_show(
    version: str,
    registry: RegistryOpt = None,
    history: Annotated[bool, typer.Option("--history", help="also print the history")] = False,
) -> None:
    """Print one model's entry (JSON)."""
    reg = _registry(registry)
    out: dict[str, Any] = {"entry": reg.get(version)}
    if history:
        out["history"] = [h for h in reg.history() if h["version"] == version or version in h.get("before", {})]
    _echo_json(out)


@models_app.command("register")
def models_register(
    model: Path, registry: RegistryOpt = None, version: str | None = None, by: ByOpt = None, why: WhyOpt = ""
) -> None:
    """Copy a model file into the registry as a candidate."""
    e = _registry(registry).register(model, version=version, by=by, why=why)
    typer.echo(f"registered {e['version']} as candidate")


@models_app.command("promote")
def models_promote(version: str, registry: RegistryOpt = None, by: ByOpt = None, why: WhyOpt = "") -> None:
    """Make VERSION the champion (the previous champion is retired)."""
    _registry(registry).promote(version, by=by, why=why)
    typer.echo(f"{version} is the champion")


@models_app.command("retire")
def models_retire(
    version: str,
    registry: RegistryOpt = None,
    by: ByOpt = None,
    why: WhyOpt = "",
    force: Annotated[bool, typer.Option("--force", help="allow retiring the champion")] = False,
) -> None:
    """Retire VERSION."""
    _registry(registry).retire(version, by=by, why=why, force=force)
    typer.echo(f"{version} is retired")


@models_app.command("rollback")
def models_rollback(registry: RegistryOpt = None, by: ByOpt = None, why: WhyOpt = "") -> None:
    """Undo the latest promote / retire / set-challenger."""
    event = _registry(registry).rollback(by=by, why=why)
    typer.echo(f"rolled back event {event['undoes']}: states now {event['after']}")


@app.command("monitor")
def monitor_command(
    decisions: Annotated[
        str,
        typer.Argument(
            help="audit store (SQLite file or SQLAlchemy URL), a `lendscore score` or `lendscore decide` output, "
            "or a file of applications"
        ),
    ],
    outcomes: Annotated[
        Path | None, typer.Option("--outcomes", help="outcomes file (default: the store's table)")
    ] = None,
    model: Annotated[Path | None, typer.Option("--model", help="model file (default: the registry's champion)")] = None,
    registry: RegistryOpt = None,
    period: Annotated[str, typer.Option("--period", help="D, W or M")] = "M",
    maturity: Annotated[int, typer.Option("--maturity", help="months before a vintage counts as matured")] = 12,
    as_of: Annotated[str | None, typer.Option("--as-of", help="date of the performance read")] = None,
    time_column: Annotated[
        str | None,
        typer.Option(
            "--time-column",
            help="date of each row: created_at, decided_at or an input such as issue_d "
            "(default: created_at, else decided_at, else the model's application date)",
        ),
    ] = None,
    kind: Annotated[str, typer.Option("--kind", help="auto, audit, score, decide, decisions or applications")] = "auto",
    id_column: Annotated[
        str | None,
        typer.Option(
            "--id-column", help="column the outcomes' decision_id refers to (default decision_id, else applicant_id)"
        ),
    ] = None,
    model_version: Annotated[str | None, typer.Option("--model-version", help="keep decisions of this version")] = None,
    out: Annotated[Path, typer.Option("--out", help="HTML report")] = Path("monitoring.html"),
    json_out: Annotated[Path | None, typer.Option("--json", help="also write the figures as JSON here")] = None,
    webhook: Annotated[str | None, typer.Option("--webhook", help="POST alerts as JSON here")] = None,
    decisions_table: Annotated[str, typer.Option("--decisions-table")] = "decisions",
    outcomes_table: Annotated[str, typer.Option("--outcomes-table")] = "outcomes",
) -> None:
    """Report drift and realised performance by vintage as HTML.

    Drift: score PSI, the CSI of every characteristic, inputs and input warnings.
    """
    import lendscore
    from lendscore.cli._console import read_records
    from lendscore.monitoring import (
        collect_alerts,
        drift,
        emit,
        load_monitoring_data,
        performance_by_vintage,
        validate_outcomes,
    )
    from lendscore.monitoring.drift import check_period
    from lendscore.monitoring.sources import check_kind
    from lendscore.reports.monitoring import MonitoringContext, write_monitoring_report

    if model is None:
        version, model = _registry(registry).champion()
        info: dict[str, Any] = {"model": str(model), "version": version}
    else:
        info = {"model": str(model)}
    scorecard = lendscore.load(model)
    o = read_records(outcomes) if outcomes is not None else None
    data = load_monitoring_data(
        decisions,
        scorecard,
        kind=check_kind(kind),
        time_column=time_column,
        table=decisions_table,
        outcomes_table=outcomes_table,
        id_column=id_column,
        model_version=model_version,
    )
    frame = data.decisions
    info.update(data.describe())
    d = drift(frame, scorecard, period=check_period(period), warnings=data.warnings)
    perf, rejections = None, None
    if o is None:
        o = data.outcomes
    if o is not None:
        if "decision_id" not in frame.columns:
            raise DataError(
                "outcomes need an id to join the decisions on: the source has no decision_id or "
                "applicant_id column (use --id-column)",
                source=data.source,
            )
        accepted, rej = validate_outcomes(o, frame)
        rejections = rej.to_dict(max_rows=20)
        perf = performance_by_vintage(frame, accepted, as_of=as_of, maturity_months=maturity)
    alerts = collect_alerts(d, perf, period=d.score["period"].max() if len(d.score) else None)
    delivery = emit(alerts, webhook_url=webhook)
    ctx = MonitoringContext(
        title="lendscore monitoring report",
        model_info=info,
        drift=d,
        performance=perf,
        alerts=alerts,
        outcome_rejections=rejections,
        notes=data.notes,
    )
    write_monitoring_report(ctx, out)
    if json_out is not None:
        _write_json(json_out, _summary(info, data, d, scorecard, perf, alerts, rejections))
    n_csi = d.characteristics["characteristic"].nunique() if len(d.characteristics) else 0
    typer.echo(
        f"{len(frame)} decisions ({data.kind}), CSI of {n_csi} of {len(scorecard.selected_features_)} "
        f"characteristics, {len(data.warnings)} input warnings, {len(alerts)} alerts"
        + (f", webhook {'ok' if delivery['webhook']['ok'] else 'FAILED'}" if delivery["webhook"] else "")
        + (f", outcomes {rejections['n_accepted']} accepted / {rejections['n_rejected']} refused" if rejections else "")
        + f"; wrote {out}"
        + (f" and {json_out}" if json_out else "")
    )


def _records(frame, columns: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts (NaN -> null, numpy -> Python), columns renamed by ``columns``."""
    import math

    import numpy as np

    if frame is None or len(frame) == 0:
        return []
    f = frame.rename(columns=columns or {})
    out = []
    for row in f.to_dict(orient="records"):
        clean = {}
        for k, v in row.items():
            v = v.item() if isinstance(v, np.generic) else v
            if isinstance(v, float) and not math.isfinite(v):
                v = None if math.isnan(v) else str(v)
            clean[str(k)] = v
        out.append(clean)
    return out


def _summary(info, data, d, scorecard, perf, alerts, rejections) -> dict[str, Any]:
    """The report's figures as one JSON document: the CSI of every characteristic every period
    (``csi`` null where it could not be computed), score PSI, input warnings, alerts, performance."""
    import pandas as pd

    stability = ["period", "n", "psi", "flag", "smoothed", "chi2", "df", "p_value", "n_new_bin"]
    periods = (
        sorted(set(d.score["period"]) | set(d.characteristics["period"]))
        if len(d.score) or len(d.characteristics)
        else []
    )
    grid = pd.DataFrame(
        [(p, c) for p in periods for c in scorecard.selected_features_], columns=["period", "characteristic"]
    )
    csi = grid.merge(d.characteristics[["characteristic", *stability]], on=["period", "characteristic"], how="left")
    return {
        "model": info,
        "period": d.period,
        "periods": periods,
        "notes": [*data.notes, *d.notes],
        "score_psi": _records(d.score[[c for c in stability if c in d.score.columns]] if len(d.score) else None),
        "csi": _records(csi, {"psi": "csi"}),
        "input_warnings": _records(d.warnings),
        "inputs": _records(d.inputs),
        "alerts": [a.to_dict() for a in alerts],
        "outcomes": rejections,
        "performance": None
        if perf is None
        else {
            "as_of": str(perf.as_of.date()),
            "maturity_months": perf.maturity_months,
            "notes": perf.notes,
            "vintages": _records(perf.vintages),
            "calibration": _records(perf.calibration.astype({"group": str}) if len(perf.calibration) else None),
        },
    }


def _write_json(path: Path, doc: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=1, default=str) + "\n", encoding="utf-8")


@app.command("retrain")
def retrain_command(
    train_from: Annotated[str, typer.Option("--train-from", help="first day of the training window")],
    train_to: Annotated[str, typer.Option("--train-to", help="last day of the training window")],
    oot_from: Annotated[str, typer.Option("--oot-from", help="first day of the out-of-time window")],
    oot_to: Annotated[str, typer.Option("--oot-to", help="last day of the out-of-time window")],
    out: Annotated[Path, typer.Option("--out", help="where to write the challenger model file")],
    data: Annotated[
        str | None,
        typer.Argument(
            metavar="DATA",
            help="CSV, CSV.gz or Parquet file, a DuckDB file, a SQLAlchemy URL (with --sql), or bundled:<name>",
        ),
    ] = None,
    target: TargetOpt = None,
    bad: BadOpt = "1",
    profile: ProfileOpt = None,
    sql: SqlOpt = None,
    time_column: Annotated[str | None, typer.Option("--time-column", help="date column the windows apply to")] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="scorecard.toml, the strict configuration `lendscore train` reads")
    ] = None,
    registry: RegistryOpt = None,
    champion: Annotated[Path | None, typer.Option("--champion", help="champion model (default: registry's)")] = None,
    rules: Annotated[Path | None, typer.Option("--rules", help="JSON file of RetrainRules")] = None,
    version: Annotated[str | None, typer.Option("--version")] = None,
    by: ByOpt = None,
    data_option: Annotated[
        str | None, typer.Option("--data", hidden=True, help="same as DATA (older spelling)")
    ] = None,
) -> None:
    """Train a challenger, compare it with the champion out of time, promote it if the rules hold.

    The challenger is trained on your data exactly as `lendscore train` does. Nothing is written
    to --out unless it all succeeds.
    """
    from lendscore.cli._console import step_printer
    from lendscore.config import load_config
    from lendscore.data import BUNDLED_PROFILES, bundled_path
    from lendscore.monitoring import RetrainRules, retrain
    from lendscore.training import load_training_data

    if data is not None and data_option is not None:
        raise ConfigError("give the data once: as DATA or as --data, not both")
    data = data if data is not None else data_option
    if data is None:
        raise ConfigError(
            "give DATA: the loans to retrain on (a file, a DuckDB file or a SQLAlchemy URL with "
            "--sql, with --target/--bad or --profile), or bundled:lending_club"
        )
    cfg = load_config(config)
    try:
        r = RetrainRules.model_validate_json(rules.read_text(encoding="utf-8")) if rules else RetrainRules()
    except FileNotFoundError as exc:
        raise ConfigError(f"{rules}: rules file not found") from exc
    except ValueError as exc:
        raise ConfigError(f"{rules}: invalid retrain rules: {exc}") from exc
    source: str | Path = data
    if data.startswith("bundled:"):
        name = data.split(":", 1)[1]
        source = bundled_path(name)
        if profile is None and target is None:
            profile = BUNDLED_PROFILES[name]
    if profile is None and target is None:
        raise ConfigError("give --target COLUMN (and --bad VALUE) or --profile NAME")
    time_column = time_column or cfg.split.time_column
    reg = _registry(registry) if (registry or os.environ.get("LENDSCORE_REGISTRY")) else None
    td = load_training_data(
        source, target=target, bad=bad, profile=profile, sql=sql, time_column=time_column, step=step_printer()
    )
    if td.time is None:
        raise ConfigError("retraining needs dates: give --time-column (or a profile with a time column)")
    res = retrain(
        td.X,
        td.y,
        td.time,
        train_window=(train_from, train_to),
        oot_window=(oot_from, oot_to),
        model_path=out,
        inputs=td.profile,
        champion=champion,
        registry=reg,
        rules=r,
        params=cfg.scorecard.estimator_params(),
        version=version,
        by=by,
        source=td.label,
        profile=td.profile.name if td.builtin_profile else None,
        target=td.profile.target,
    )
    typer.echo(
        f"challenger fitted on {res.n_train:,} loans ({res.train_window[0]} .. {res.train_window[1]}), "
        f"compared on {res.n_oot:,} out of time ({res.oot_window[0]} .. {res.oot_window[1]})"
    )
    for s in res.decision.steps:
        mark = {True: "pass", False: "FAIL", None: "skip"}[s["passed"]]
        typer.echo(f"  [{mark}] {s['step']}: {s['detail']}")
    typer.echo(
        f"{res.decision.summary}"
        + (f"; registered {res.version}" if res.version else "")
        + ("; promoted to champion" if res.promoted else "")
        + f"; wrote {out}"
    )

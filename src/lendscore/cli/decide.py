"""``lendscore decide`` (score + policy -> decisions) and ``lendscore cutoff`` (choose the cut-off).

An application is the JSON object the HTTP API takes as ``applicant`` with ``finances``, ``loan``
and ``applicant_id`` beside its fields (or the API's own ``{"applicant": ..., "finances": ...,
"loan": ..., "applicant_id": ...}`` body): the model's inputs and the raw fields its derivation
reads; absent means missing; an unknown field is refused by name. In a CSV file the groups are
columns named ``finances.<field>`` and ``loan.<field>``. Each decision carries its
``applicant_id``, its ``warnings`` and the ``application`` it decided (what monitoring reads).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any

import typer

from lendscore.cli._app import app
from lendscore.cli._console import read_records
from lendscore.errors import ConfigError, DataError

_NESTED = ("finances", "loan")


def _load_model(path: Path) -> tuple[Any, str]:
    from lendscore.engine import load_model_versioned

    return load_model_versioned(path)


def _clean(value: Any) -> Any:
    return None if isinstance(value, float) and math.isnan(value) else value


def _applicants_from_frame(frame: Any) -> list[dict[str, Any]]:
    """Rows as applicant dicts; ``finances.x`` / ``loan.x`` columns become nested dicts."""
    out = []
    for row in frame.to_dict(orient="records"):
        app_: dict[str, Any] = {}
        for key, value in row.items():
            head, _, tail = str(key).partition(".")
            if head in _NESTED and tail:
                if _clean(value) is not None:
                    app_.setdefault(head, {})[tail] = value
            else:
                app_[key] = value if isinstance(value, dict) else _clean(value)
        out.append(app_)
    return out


def _decide_all(model: Any, version: str, applicants: list[dict[str, Any]], policy_path: Path | None) -> list[dict]:
    """Decide every application through the engine the service uses (the batch path)."""
    from lendscore.decision import load_catalogue, load_policy
    from lendscore.engine import DecisionEngine

    catalogue = load_catalogue()
    engine = DecisionEngine(model, version, load_policy(policy_path, catalogue=catalogue), catalogue)
    requests: list[dict[str, Any]] = []
    for i, a in enumerate(map(_unwrap, applicants)):
        where = "applicant" if len(applicants) == 1 else f"row {i}"
        model.inputs_.check_names(list(a), where=where)
        for group in _NESTED:
            if a.get(group) is not None and not isinstance(a[group], dict):
                raise DataError(f"{where}.{group} must be a JSON object; got {a[group]!r}")
        requests.append(
            {
                "applicant": {k: v for k, v in a.items() if k not in (*_NESTED, "applicant_id")},
                "finances": a.get("finances"),
                "loan": a.get("loan"),
                "applicant_id": a.get("applicant_id"),
            }
        )
    from lendscore.errors import PolicyError

    try:
        apps = [engine.application(r["applicant"], r["finances"], r["loan"]) for r in requests]
        scored, warnings = engine.score_applications(apps)
        outs = engine.decide_scored_applications(scored, apps)
    except PolicyError as exc:
        raise DataError(str(exc)) from exc
    import datetime as dt

    decided_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    return [
        {
            "applicant_id": r["applicant_id"],
            "decided_at": decided_at,
            **out,
            "warnings": w,
            "application": {**r["applicant"], "finances": app.get("finances"), "loan": r["loan"]},
        }
        for r, app, out, w in zip(requests, apps, outs, warnings, strict=True)
    ]


@app.command("decide")
def decide_command(
    model: Annotated[Path, typer.Option("--model", help="model file saved by `lendscore train`")],
    policy: Annotated[Path | None, typer.Option("--policy", help="policy TOML (default: bundled)")] = None,
    applicant: Annotated[
        str | None, typer.Option("--applicant", help="one applicant: JSON text or a .json file")
    ] = None,
    input: Annotated[Path | None, typer.Option("--input", help="applicants: .csv/.json/.jsonl/.parquet")] = None,
    output: Annotated[Path | None, typer.Option("--output", help="decisions: .jsonl, .json or .csv")] = None,
) -> None:
    """Score applicants and apply the credit policy; write one decision per applicant."""
    if (applicant is None) == (input is None):
        raise ConfigError("give exactly one of --applicant (one applicant) or --input (a file)")
    scorecard, version = _load_model(model)
    if applicant is not None:
        if applicant.lstrip().startswith("{"):
            text = applicant
        else:
            try:
                text = Path(applicant).read_text(encoding="utf-8")
            except OSError as exc:
                raise DataError(
                    f"--applicant is neither JSON text nor a readable file: {exc.strerror}", source=applicant
                ) from exc
        try:
            one = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataError(f"--applicant is not valid JSON: {exc}") from exc
        if not isinstance(one, dict):
            raise DataError(f"--applicant must be a JSON object; got {type(one).__name__}")
        decisions = _decide_all(scorecard, version, [one], policy)
    elif input is not None:  # (exactly one of the two, checked above)
        decisions = _decide_all(scorecard, version, _applicants_from_frame(read_records(input)), policy)
    if output is None:
        typer.echo(json.dumps(decisions[0] if applicant is not None else decisions, indent=2))
        return
    _write_decisions(decisions, output)
    typer.echo(f"wrote {len(decisions)} decisions to {output}")


def _write_decisions(decisions: list[dict], path: Path) -> None:
    name = path.name.lower()
    if name.endswith(".jsonl"):
        path.write_text("".join(json.dumps(d) + "\n" for d in decisions), encoding="utf-8")
    elif name.endswith(".json"):
        path.write_text(json.dumps(decisions, indent=2), encoding="utf-8")
    elif name.endswith(".csv"):
        import pandas as pd

        rows = [
            {
                "applicant_id": d["applicant_id"],
                "decided_at": d["decided_at"],
                "outcome": d["outcome"],
                "pd": d["pd"],
                "score": d["score"],
                "grade": d["grade"],
                "reason_codes": ";".join(r["code"] for r in d["reasons"]),
                "reasons": " | ".join(r["text"] for r in d["reasons"]),
                "nth": (d["affordability"] or {}).get("nth"),
                "affordability_passed": (d["affordability"] or {}).get("passed"),
                "policy_version": d["policy_version"],
                "model_version": d["model_version"],
                "warnings": ";".join(f"{w['field']}:{w['rule']}" for w in d["warnings"]),
                **{f"application.{k}": v for k, v in _flat(d["application"]).items()},
            }
            for d in decisions
        ]
        pd.DataFrame(rows).to_csv(path, index=False)
    else:
        raise ConfigError(f"--output must end in .jsonl, .json or .csv; got {path.name!r}")


def _unwrap(a: dict[str, Any]) -> dict[str, Any]:
    """The HTTP body ``{"applicant": {...}, "finances": ..., "loan": ..., "applicant_id": ...}`` as
    one application object (the same object, flat, is accepted as it is)."""
    if isinstance(a.get("applicant"), dict):
        extra = [k for k in a if k not in ("applicant", *_NESTED, "applicant_id")]
        if extra:
            raise DataError(
                f"{extra[0]}: unknown field beside 'applicant' (the request body holds applicant, "
                "finances, loan and applicant_id)"
            )
        return {**a["applicant"], **{k: a[k] for k in (*_NESTED, "applicant_id") if k in a}}
    return a


def _flat(application: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in application.items():
        if isinstance(v, dict):
            out.update({f"{k}.{kk}": vv for kk, vv in v.items()})
        elif v is not None or k not in _NESTED:
            out[k] = v
    return out


@app.command("cutoff")
def cutoff_command(
    model: Annotated[Path, typer.Option("--model")],
    data: Annotated[Path, typer.Option("--data", help="validation data with the outcome column")],
    target: Annotated[str, typer.Option("--target", help="outcome column")],
    bad: Annotated[list[str], typer.Option("--bad", help="value(s) of the outcome meaning default")],
    policy: Annotated[Path, typer.Option("--policy", help="policy TOML to write the cut-off into")],
    lgd: Annotated[float, typer.Option("--lgd", help="loss given default, fraction")] = 0.6,
    margin: Annotated[float, typer.Option("--margin", help="interest margin over the loan's life, fraction")] = 0.15,
    cost: Annotated[float, typer.Option("--cost", help="cost per application")] = 0.0,
    exposure: Annotated[float, typer.Option("--exposure", help="exposure per loan")] = 1.0,
    exposure_col: Annotated[str | None, typer.Option("--exposure-col", help="column with exposure")] = None,
    target_approval: Annotated[float | None, typer.Option("--target-approval")] = None,
    max_bad_rate: Annotated[float | None, typer.Option("--max-bad-rate")] = None,
    plot: Annotated[Path | None, typer.Option("--plot", help="write the trade-off plot here")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="do not write the policy file")] = False,
) -> None:
    """Choose the profit-maximising score cut-off, print the trade-off and write it into the policy."""
    from rich.console import Console
    from rich.table import Table

    from lendscore.decision import choose_cutoff, load_policy, profit_table, write_cutoff

    load_policy(policy)  # refuse a bad policy file before any work or output (plot)
    frame = read_records(data)
    for col in [target] + ([exposure_col] if exposure_col else []):
        if col not in frame.columns:
            raise DataError(f"column {col!r} is missing", source=str(data), column=col)
    scorecard, _ = _load_model(model)
    y = frame[target].astype(str).isin(bad).astype(int).to_numpy()
    # raw application rows: derive the profile's features (nth, credit age, ...) as `score` and `decide` do
    details = scorecard.score_details(frame.drop(columns=[target]))
    expo = frame[exposure_col].to_numpy(dtype=float) if exposure_col else exposure
    table = profit_table(
        details["score"].to_numpy(), y, lgd=lgd, margin=margin, exposure=expo, cost_per_application=cost
    )
    choice = choose_cutoff(table, target_approval_rate=target_approval, max_bad_rate=max_bad_rate)
    shown = Table(title=f"Cut-off trade-off ({choice.method}); chosen {choice.cutoff:g}")
    cols = ["cutoff", "approval_rate", "bad_rate", "expected_loss", "profit", "accuracy", "precision", "recall", "f1"]
    heads = ["cut-off", "approve", "bad", "exp. loss", "profit", "acc", "prec", "recall", "F1"]
    for h in heads:
        shown.add_column(h, justify="right")
    step = max(1, len(table) // 15)
    rows = sorted(set(range(0, len(table), step)) | {int(table.index[table["cutoff"] == choice.cutoff][0])})
    for i in rows:
        r = table.iloc[i]
        style = "bold" if r["cutoff"] == choice.cutoff else None
        shown.add_row(*[f"{r[c]:.4g}" for c in cols], style=style)
    Console(width=max(Console().width, 100)).print(shown)
    if plot is not None:
        from lendscore.decision.plots import plot_cutoff_tradeoff

        plot_cutoff_tradeoff(table, choice.cutoff).savefig(plot, dpi=120)
        typer.echo(f"wrote {plot}")
    if not dry_run:
        write_cutoff(policy, choice)
        typer.echo(f"wrote cut-off {choice.cutoff:g} into {policy}")

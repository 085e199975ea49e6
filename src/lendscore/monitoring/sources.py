"""One reader for everything ``lendscore monitor`` watches: the same frame from four kinds of source.

Sources (``kind="auto"`` tells them apart; see :func:`detect_kind`):

``audit``         the service's audit store: a SQLite file (``.db``, ``.sqlite``, ``.sqlite3``) or any
                  SQLAlchemy URL (``sqlite:///...``, ``postgresql+psycopg://...``). Table ``decisions``
                  (the application as JSON text in ``inputs``: ``{"applicant": {...}, "finances":
                  {...}|null, "loan": {...}|null, "applicant_id": ...}``) and table ``outcomes``.
``score``         a ``lendscore score`` output: the input columns unchanged plus ``lendscore_pd``,
                  ``lendscore_score``, ``lendscore_grade`` and ``lendscore_points_<characteristic>``.
``decide``        a ``lendscore decide --output`` file: ``.jsonl`` / ``.json`` records with the
                  ``application`` object, or ``.csv`` with ``application.<field>`` columns.
``decisions``     a frame shaped like the audit store's ``decisions_frame()`` (``decision_id,
                  created_at, outcome, pd, score, grade`` and the inputs, an input named like one of
                  those columns as ``input.<name>`` or ``applicant.<name>``).
``applications``  a raw file of applications under the model's own column names (no score).

Every source becomes one **monitoring frame**:

- the outputs under their own names: ``decision_id`` (when the source has one; a ``decide`` output
  uses ``applicant_id``), ``model_version``, ``outcome``, ``pd``, ``score``, ``grade``;
- ``created_at``: the time of each row (UTC), read from ``time_column``;
- the application's fields as ``input.<field>``, its finances and loan as ``input.finances.<x>`` and
  ``input.loan.<x>``: always namespaced, so Lending Club's input ``grade`` (``input.grade``) never
  collides with the model's output ``grade``.

:func:`prepare_monitoring_frame` then runs the model file's own derivation on the inputs (raw
applications are welcome: credit age, instalment, NTH and NTH share are computed as every decision
door computes them; an application without its application date is dated by the row's time, as the
decision was), writes the derived model inputs back as ``input.<name>``, lists the input warnings
(:meth:`Scorecard.input_warnings`: unseen categories, values outside the training range) and scores
the rows that carry no score (:meth:`Scorecard.score_details`). A raw value the derivation cannot
read raises :class:`~lendscore.errors.DataError` naming the field and the rule.

The finances the service stored are the request's; when an application gave neither
``net_income`` nor ``deductions``, the decision estimated the deductions from its policy before
scoring (:func:`lendscore.decision.affordability.complete_finances`). The reader takes them back
from the stored result (``affordability.deductions``), so the NTH monitored is the NTH the decision
scored.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd

from lendscore.errors import ConfigError, DataError

__all__ = [
    "AUDIT_SUFFIXES",
    "INPUT_PREFIX",
    "KINDS",
    "MonitoringData",
    "RawDecisions",
    "audit_records_frame",
    "detect_kind",
    "load_monitoring_data",
    "prepare_monitoring_frame",
    "read_decisions",
]

INPUT_PREFIX = "input."
AUDIT_SUFFIXES = (".db", ".sqlite", ".sqlite3")
FILE_SUFFIXES = (".csv", ".csv.gz", ".parquet", ".jsonl", ".json")
Kind = Literal["auto", "audit", "score", "decide", "decisions", "applications"]
KINDS: tuple[Kind, ...] = get_args(Kind)
GROUPS = ("finances", "loan")
#: Output columns of a decisions frame (the audit store's and ``lendscore decide``'s).
OUTPUTS = (
    "decision_id",
    "request_id",
    "created_at",
    "decided_at",
    "model_version",
    "policy_version",
    "outcome",
    "pd",
    "score",
    "grade",
    "applicant_id",
)
_AUDIT_COLUMNS = (
    "decision_id",
    "created_at",
    "model_version",
    "policy_version",
    "outcome",
    "pd",
    "score",
    "grade",
    "applicant_id",
    "inputs",
)
_CHUNK = 2_000


def check_kind(kind: str) -> Kind:
    """``kind`` if it is one of :data:`KINDS`; ConfigError naming them otherwise."""
    if kind not in KINDS:
        raise ConfigError(f"kind must be one of {list(KINDS)}; got {kind!r}")
    return kind


@dataclass
class RawDecisions:
    """A source read into the monitoring frame, before the model derived or scored anything."""

    frame: pd.DataFrame
    kind: str
    source: str
    time_column: str
    outcomes: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class MonitoringData:
    """The monitoring frame with the model's derivation applied, scores filled, warnings listed.

    ``decisions``: outputs, ``created_at`` and every model input as ``input.<name>`` (derived ones
    included); ``warnings``: ``row`` (position in ``decisions``), ``field``, ``rule``, ``value``;
    ``outcomes``: the audit store's outcomes table (None for a file); ``scored``: rows the model
    scored because the source had no score.
    """

    decisions: pd.DataFrame
    warnings: pd.DataFrame
    kind: str
    source: str
    time_column: str
    outcomes: pd.DataFrame | None = None
    scored: int = 0
    notes: list[str] = field(default_factory=list)

    def describe(self) -> dict[str, Any]:
        """What the report shows about the data it read."""
        return {
            "source": self.source,
            "kind": self.kind,
            "rows": len(self.decisions),
            "time column": self.time_column,
            "scored by the model": self.scored,
            "input warnings": len(self.warnings),
        }


# ---------------------------------------------------------------------------------------- helpers
def _is_url(source: Any) -> bool:
    return isinstance(source, str) and "://" in source


def _redact(url: str) -> str:
    try:
        import sqlalchemy as sa

        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:  # only used in messages
        return url.split("@")[-1]


def _label(source: Any) -> str:
    return _redact(source) if _is_url(source) else str(source)


def _json(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        value = value.decode("utf-8")
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return None
    return value


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _utc(values: pd.Series, name: str, source: str) -> pd.Series:
    """Timestamps in UTC (naive ones are UTC); a value that is not a date raises DataError."""
    if pd.api.types.is_datetime64_any_dtype(values):
        t = values
    else:
        v = values.astype(object).where(values.notna(), None)
        try:
            t = pd.to_datetime(v, utc=True, format="ISO8601")
        except (ValueError, TypeError):
            try:
                t = pd.to_datetime(v, utc=True, format="mixed")
            except (ValueError, TypeError) as exc:
                raise DataError(f"time column {name!r} must hold dates: {exc}", source=source, column=name) from exc
    if getattr(t.dt, "tz", None) is None:
        t = t.dt.tz_localize("UTC")
    t = t.dt.tz_convert("UTC")
    if t.isna().any():
        first = int(np.flatnonzero(t.isna().to_numpy())[0])
        raise DataError(
            f"time column {name!r} has {int(t.isna().sum())} rows without a date (first: row {first})",
            source=source,
            column=name,
        )
    return t.reset_index(drop=True)


def _flatten(record: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested objects as dotted keys (``{"application": {"loan": {"amount": 1}}}`` ->
    ``application.loan.amount``); lists are kept as they are."""
    out: dict[str, Any] = {}
    for k, v in record.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def _read_file(path: Path) -> pd.DataFrame:
    name = path.name.lower()
    if not path.is_file():
        raise DataError("file not found", source=str(path))
    try:
        if name.endswith((".csv", ".csv.gz")):
            return pd.read_csv(path, low_memory=False)
        if name.endswith(".parquet"):
            return pd.read_parquet(path)
        if name.endswith(".jsonl"):
            with path.open(encoding="utf-8") as fh:
                records = [json.loads(line) for line in fh if line.strip()]
        elif name.endswith(".json"):
            doc = json.loads(path.read_text(encoding="utf-8"))
            records = doc if isinstance(doc, list) else [doc]
        else:
            raise DataError(
                f"file must be {', '.join(FILE_SUFFIXES)} or a SQLite audit store "
                f"({', '.join(AUDIT_SUFFIXES)}), or a database URL",
                source=str(path),
            )
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read the file: {exc}", source=str(path)) from exc
    if not all(isinstance(r, Mapping) for r in records):
        raise DataError("a JSON file of decisions must hold objects (one per decision)", source=str(path))
    return pd.DataFrame.from_records([_flatten(r) for r in records])


# ---------------------------------------------------------------------------------------- audit store
def _engine(source: Any, label: str):
    import sqlalchemy as sa

    if _is_url(source):
        try:
            return sa.create_engine(source)
        except (sa.exc.SQLAlchemyError, ImportError, ValueError) as exc:
            raise DataError(f"cannot open the audit store: {exc}", source=label) from exc
    path = Path(source)
    if not path.is_file():
        raise DataError("SQLite audit database not found", source=label)
    import sqlite3
    from urllib.parse import quote

    uri = f"file:{quote(str(path.resolve()))}?mode=ro"
    return sa.create_engine("sqlite://", creator=lambda: sqlite3.connect(uri, uri=True))


def _audit_rows(inputs: Any, result: Any = None) -> dict[str, Any]:
    """The ``input.*`` columns of one stored application (and the deductions its decision used)."""
    doc = _json(inputs) or {}
    if not isinstance(doc, Mapping):
        return {}
    if isinstance(doc.get("applicant"), Mapping) or any(g in doc for g in GROUPS):
        applicant = doc.get("applicant") or {}
        groups = {g: doc.get(g) for g in GROUPS}
    else:  # an older store: the inputs themselves, flat
        applicant = {k: v for k, v in doc.items() if k not in GROUPS}
        groups = {g: doc.get(g) for g in GROUPS}
    out = {INPUT_PREFIX + str(k): v for k, v in applicant.items() if not isinstance(v, Mapping)}
    for g, values in groups.items():
        if isinstance(values, Mapping):
            out.update({f"{INPUT_PREFIX}{g}.{k}": v for k, v in values.items()})
    fin = groups.get("finances")
    if isinstance(fin, Mapping) and _missing(fin.get("net_income")) and _missing(fin.get("deductions")):
        res = _json(result) if result is not None else None
        deductions = ((res or {}).get("affordability") or {}).get("deductions") if isinstance(res, Mapping) else None
        if isinstance(deductions, (int, float)) and not isinstance(deductions, bool):
            out[f"{INPUT_PREFIX}finances.deductions"] = float(deductions)
    return out


def _needs_result(inputs_doc: Mapping[str, Any]) -> bool:
    fin = inputs_doc.get("finances") if isinstance(inputs_doc, Mapping) else None
    return isinstance(fin, Mapping) and _missing(fin.get("net_income")) and _missing(fin.get("deductions"))


def audit_records_frame(records: Iterable[Any]) -> pd.DataFrame:
    """The monitoring frame of audit-store rows (mappings or :class:`DecisionRecord` objects with
    ``decision_id, created_at, model_version, outcome, pd, score, grade, inputs`` and optionally
    ``result``), ``created_at`` in UTC, sorted by time."""
    rows = []
    for r in records:
        m = r if isinstance(r, Mapping) else {k: getattr(r, k, None) for k in (*_AUDIT_COLUMNS, "result")}
        row = {k: v for k, v in m.items() if k not in ("inputs", "result")}
        if m.get("inputs") is not None:
            row.update(_audit_rows(m["inputs"], m.get("result")))
        rows.append(row)
    frame = (
        pd.DataFrame.from_records(rows) if rows else pd.DataFrame(columns=[c for c in _AUDIT_COLUMNS if c != "inputs"])
    )
    for c in ("pd", "score"):
        if c in frame.columns:
            frame[c] = pd.to_numeric(frame[c], errors="coerce").astype(float)
    for g in GROUPS:  # a group stored as null everywhere is no column
        frame = frame.drop(columns=[INPUT_PREFIX + g], errors="ignore")
    if "created_at" in frame.columns and len(frame):
        frame["created_at"] = _utc(frame["created_at"], "created_at", "audit store")
        frame = frame.sort_values("created_at", kind="stable").reset_index(drop=True)
    return frame


def _read_audit(source: Any, table: str, outcomes_table: str | None) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    import sqlalchemy as sa

    label = _label(source)
    engine = _engine(source, label)
    try:
        with engine.connect() as conn:
            insp = sa.inspect(conn)
            if not insp.has_table(table):
                raise DataError(
                    f"no table {table!r} (tables: {insp.get_table_names()}); is this an audit store?", source=label
                )
            t = sa.Table(table, sa.MetaData(), autoload_with=conn)
            if "inputs" not in t.c or "created_at" not in t.c:
                raise DataError(
                    f"table {table!r} has no 'inputs' or 'created_at' column: not an audit store", source=label
                )
            cols = [t.c[c] for c in _AUDIT_COLUMNS if c in t.c]
            rows: list[dict[str, Any]] = []
            pending: dict[Any, int] = {}  # decision_id -> its row
            for r in conn.execution_options(stream_results=True).execute(sa.select(*cols)).mappings():
                doc = _json(r["inputs"]) or {}
                row = {k: v for k, v in r.items() if k != "inputs"}
                row.update(_audit_rows(doc))
                if "result" in t.c and "decision_id" in t.c and _needs_result(doc):
                    pending[r["decision_id"]] = len(rows)
                rows.append(row)
            ids = list(pending)
            for i in range(0, len(ids), _CHUNK):  # the deductions the decisions used, from their results
                q = sa.select(t.c.decision_id, t.c.inputs, t.c.result).where(t.c.decision_id.in_(ids[i : i + _CHUNK]))
                for r in conn.execute(q):
                    rows[pending[r[0]]].update(_audit_rows(r[1], r[2]))
            outcomes = None
            if outcomes_table and insp.has_table(outcomes_table):
                o = sa.Table(outcomes_table, sa.MetaData(), autoload_with=conn)
                ocols = [o.c[c] for c in ("decision_id", "defaulted", "outcome_date", "reported_at") if c in o.c]
                outcomes = pd.DataFrame(
                    [dict(r) for r in conn.execute(sa.select(*ocols)).mappings()], columns=[c.name for c in ocols]
                )
    except sa.exc.SQLAlchemyError as exc:
        raise DataError(f"cannot read the audit store: {type(exc).__name__}: {exc}", source=label) from exc
    finally:
        engine.dispose()
    return audit_records_frame(rows), outcomes


# ---------------------------------------------------------------------------------------- files
def _score_prefix(columns: Iterable[str]) -> str | None:
    cols = set(map(str, columns))
    for c in sorted(cols):
        if c.endswith("score") and len(c) > len("score"):
            p = c[: -len("score")]
            if f"{p}pd" in cols and f"{p}grade" in cols:
                return p
    return None


def detect_kind(columns: Iterable[str]) -> Kind:
    """The kind of a file from its columns: ``decide`` (``application.*``), ``score`` (``<prefix>score``,
    ``<prefix>pd``, ``<prefix>grade``), ``decisions`` (``pd`` and ``score``, or ``input.*`` /
    ``applicant.*``) or ``applications``."""
    cols = [str(c) for c in columns]
    if any(c.startswith("application.") for c in cols):
        return "decide"
    if _score_prefix(cols) is not None:
        return "score"
    if (
        {"pd", "score"} <= set(cols)
        or "inputs" in cols
        or any(c.startswith((INPUT_PREFIX, "applicant.")) for c in cols)
    ):
        return "decisions"
    return "applications"


def _canonical(raw: pd.DataFrame, kind: str) -> tuple[dict[str, pd.Series], dict[str, pd.Series], list[str]]:
    """(outputs, inputs by field name, notes) of a flat file of ``kind``."""
    outputs: dict[str, pd.Series] = {}
    inputs: dict[str, pd.Series] = {}
    notes: list[str] = []
    cols = [str(c) for c in raw.columns]
    raw = raw.set_axis(cols, axis=1)
    if kind == "decide":
        for c in cols:
            if c.startswith("application."):
                inputs[c.removeprefix("application.")] = raw[c]
            elif c in OUTPUTS:
                outputs[c] = raw[c]
    elif kind == "score":
        p = _score_prefix(cols)
        if p is None:
            raise DataError("not a `lendscore score` output: no <prefix>pd, <prefix>score and <prefix>grade columns")
        for name in ("pd", "score", "grade"):
            outputs[name] = raw[p + name]
        produced = {p + "pd", p + "score", p + "grade", p + "warnings"}
        for c in cols:
            if c not in produced and not c.startswith(p + "points_"):
                inputs[c] = raw[c]
    elif kind == "decisions":
        for c in cols:
            if c.startswith(INPUT_PREFIX):
                inputs[c.removeprefix(INPUT_PREFIX)] = raw[c]
            elif c.startswith("applicant."):
                inputs.setdefault(c.removeprefix("applicant."), raw[c])
            elif c in OUTPUTS:
                outputs[c] = raw[c]
        for c in cols:
            if not c.startswith((INPUT_PREFIX, "applicant.")) and c not in OUTPUTS and c != "inputs":
                inputs.setdefault(c, raw[c])
        if "inputs" in cols:  # the application as one JSON column, as the audit store keeps it
            stored = pd.DataFrame.from_records([_audit_rows(v) for v in raw["inputs"]], index=raw.index)
            for c in stored.columns:
                inputs.setdefault(c.removeprefix(INPUT_PREFIX), stored[c])
    elif kind == "applications":
        inputs = {c: raw[c] for c in cols}
    else:
        raise ConfigError(f"kind must be one of {list(KINDS)}; got {kind!r}")
    for g in GROUPS:  # ``application.finances: null`` flattened to one empty column
        if g in inputs and inputs[g].isna().all():
            del inputs[g]
    return outputs, inputs, notes


def _application_dates(model) -> list[str]:
    from lendscore.data.derivation import CreditAgeMonths

    spec = getattr(model, "inputs_", None)
    if spec is None:
        return []
    return [op.application_date for op in spec.derivation.operations if isinstance(op, CreditAgeMonths)]


def read_decisions(
    source: str | Path | pd.DataFrame,
    *,
    model=None,
    kind: Kind = "auto",
    time_column: str | None = None,
    table: str = "decisions",
    outcomes_table: str | None = "outcomes",
    id_column: str | None = None,
    model_version: str | None = None,
) -> RawDecisions:
    """Read any monitoring source into the monitoring frame (see the module docstring).

    ``time_column`` names the time of a row: an output column (``created_at``, ``decided_at``) or
    an input field (``issue_d``). By default: ``created_at``, else ``decided_at``, else the model's
    application-date field (Lending Club: ``issue_d``). ``id_column`` names the column that
    identifies a decision in an outcomes file (default ``decision_id``, else a decide output's
    ``applicant_id``). ``model_version`` keeps the rows of that model version.
    """
    kind = check_kind(kind)
    label = "DataFrame" if isinstance(source, pd.DataFrame) else _label(source)
    is_audit = not isinstance(source, pd.DataFrame) and (
        _is_url(source) or Path(str(source)).name.lower().endswith(AUDIT_SUFFIXES)
    )
    if kind == "audit" and not is_audit:
        raise ConfigError(
            f"an audit store is a SQLite file ({', '.join(AUDIT_SUFFIXES)}) or a database URL; got {label}"
        )
    outcomes = None
    notes: list[str] = []
    if is_audit:
        if kind not in ("auto", "audit"):
            raise ConfigError(f"{label} is an audit store; kind {kind!r} applies to files")
        frame, outcomes = _read_audit(source, table, outcomes_table)
        kind = "audit"
        outputs = {c: frame[c] for c in frame.columns if not c.startswith(INPUT_PREFIX)}
        inputs = {c.removeprefix(INPUT_PREFIX): frame[c] for c in frame.columns if c.startswith(INPUT_PREFIX)}
    else:
        raw = source if isinstance(source, pd.DataFrame) else _read_file(Path(source))
        kind = detect_kind(raw.columns) if kind == "auto" else kind
        outputs, inputs, notes = _canonical(raw.reset_index(drop=True), kind)
    n = len(next(iter(outputs.values()))) if outputs else len(next(iter(inputs.values()))) if inputs else 0
    if model_version is not None:
        if "model_version" in outputs:
            keep = (outputs["model_version"].astype(str) == model_version).to_numpy()
            outputs = {k: v[keep].reset_index(drop=True) for k, v in outputs.items()}
            inputs = {k: v[keep].reset_index(drop=True) for k, v in inputs.items()}
            notes.append(f"kept the {int(keep.sum())} of {n} rows decided by model version {model_version}")
            n = int(keep.sum())
        else:
            notes.append(f"the source has no model_version column: --model-version {model_version} not applied")
    candidates = [time_column] if time_column else ["created_at", "decided_at", *_application_dates(model)]
    found = next((c for c in candidates if c in outputs or c in inputs), None)
    if found is None:
        if time_column:
            raise DataError(f"column {time_column!r} is missing (use --time-column)", source=label, column=time_column)
        raise DataError(
            f"no time column: none of {candidates} is in the source; give --time-column "
            "(the date each row was decided or applied for)",
            source=label,
        )
    when = outputs[found] if found in outputs else inputs[found]
    created = _utc(when, found, label) if n else pd.Series([], dtype="datetime64[ns, UTC]")
    if found != "created_at" and "created_at" in outputs:
        notes.append(f"rows are dated by {found!r}, not by created_at")
    decision_id = None
    id_name = id_column or next((c for c in ("decision_id", "applicant_id") if c in outputs or c in inputs), None)
    if id_name is not None:
        col = outputs.get(id_name) if id_name in outputs else inputs.get(id_name)
        if col is None:
            raise DataError(f"id column {id_name!r} is missing (use --id-column)", source=label, column=id_name)
        decision_id = col.astype(object).where(col.notna(), None).map(lambda v: v if v is None else str(v))
        if id_name != "decision_id":
            notes.append(f"decisions are identified by {id_name!r} (the id outcomes refer to)")
    data: dict[str, Any] = {}
    if decision_id is not None:
        data["decision_id"] = decision_id.reset_index(drop=True)
    data["created_at"] = created
    for c in ("model_version", "policy_version", "outcome", "pd", "score", "grade", "applicant_id"):
        if c in outputs:
            data[c] = outputs[c].reset_index(drop=True)
    for c in ("pd", "score"):
        if c in data:
            data[c] = pd.to_numeric(data[c], errors="coerce").astype(float)
    for k, v in inputs.items():
        data[INPUT_PREFIX + k] = v.reset_index(drop=True)
    frame = pd.DataFrame(data, index=pd.RangeIndex(n))
    return RawDecisions(frame, kind, label, found, outcomes, notes)


# ---------------------------------------------------------------------------------------- model
def applications(frame: pd.DataFrame) -> pd.DataFrame:
    """The ``input.*`` columns of a monitoring frame under their own names."""
    cols = [c for c in frame.columns if str(c).startswith(INPUT_PREFIX)]
    return frame[cols].set_axis([str(c)[len(INPUT_PREFIX) :] for c in cols], axis=1)


def prepare_monitoring_frame(
    frame: pd.DataFrame,
    model,
    *,
    source: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, int, list[str]]:
    """Derive, warn and score a monitoring frame with ``model`` (see the module docstring).

    Returns ``(frame, warnings, n_scored, notes)``: the frame with every model input as
    ``input.<name>`` (derived, or all missing when the source lacks it), the application-date
    field filled from ``created_at`` where missing, and ``pd``, ``score``, ``grade`` filled by
    the model where the source had none.
    """
    notes: list[str] = []
    out = frame.reset_index(drop=True).copy()
    app = applications(out).copy()
    n = len(out)
    if n:
        out["created_at"] = _utc(out["created_at"], "created_at", source or "decisions")
    for f in _application_dates(model):  # an application without its date is dated by its decision
        day = out["created_at"].dt.tz_localize(None).dt.normalize()
        if f not in app.columns:
            app[f] = day.dt.strftime("%Y-%m-%d").to_numpy(dtype=object)
            notes.append(f"{f} (the application date) is taken from the row's time")
        else:
            gap = app[f].isna()
            if gap.any():
                if pd.api.types.is_datetime64_any_dtype(app[f]):
                    app[f] = app[f].where(~gap, day.to_numpy())
                else:
                    app[f] = app[f].astype(object).where(~gap, day.dt.strftime("%Y-%m-%d"))
                notes.append(f"{int(gap.sum())} applications without {f} are dated by the row's time")
    spec = model.inputs_
    derived_names = set(spec.derivation.outputs)
    absent = [c for c in model.feature_names_in_ if c not in app.columns and c not in derived_names]
    for c in absent:
        kind = model.kinds_.get(c) if hasattr(model, "kinds_") else None
        app[c] = np.full(n, np.nan) if kind != "categorical" else np.full(n, None, dtype=object)
    if absent:
        notes.append(f"inputs absent from the source, counted as missing: {absent}")
    derived = model.derive(app)
    warnings = model.input_warnings(derived) if n else pd.DataFrame(columns=["row", "field", "rule", "value"])
    scored = 0
    need = np.ones(n, dtype=bool) if "score" not in out.columns else out["score"].isna().to_numpy()
    if need.any():
        det = model.score_details(derived.loc[need])
        for c in ("pd", "score"):
            if c not in out.columns:
                out[c] = np.nan
            out.loc[need, c] = det[c].to_numpy(dtype=float)
        if "grade" not in out.columns:
            out["grade"] = pd.Series([None] * n, dtype=object)
        out["grade"] = out["grade"].astype(object)
        out.loc[need, "grade"] = det["grade"].astype(object).to_numpy()
        scored = int(need.sum())
        notes.append(
            f"{scored} rows had no score: scored with the model"
            if scored < n
            else "the source has no score: every row scored with the model"
        )
    keep = list(dict.fromkeys([*model.feature_names_in_, *spec.derivation.outputs, *_application_dates(model)]))
    for c in keep:
        if c in derived.columns:
            out[INPUT_PREFIX + c] = derived[c].to_numpy()
    return out, warnings.reset_index(drop=True), scored, notes


def load_monitoring_data(
    source: str | Path | pd.DataFrame,
    model,
    *,
    kind: Kind = "auto",
    time_column: str | None = None,
    table: str = "decisions",
    outcomes_table: str | None = "outcomes",
    id_column: str | None = None,
    model_version: str | None = None,
) -> MonitoringData:
    """:func:`read_decisions` then :func:`prepare_monitoring_frame`: what ``lendscore monitor`` reads."""
    raw = read_decisions(
        source,
        model=model,
        kind=kind,
        time_column=time_column,
        table=table,
        outcomes_table=outcomes_table,
        id_column=id_column,
        model_version=model_version,
    )
    frame, warnings, scored, notes = prepare_monitoring_frame(raw.frame, model, source=raw.source)
    return MonitoringData(
        decisions=frame,
        warnings=warnings,
        kind=raw.kind,
        source=raw.source,
        time_column=raw.time_column,
        outcomes=raw.outcomes,
        scored=scored,
        notes=[*raw.notes, *notes],
    )

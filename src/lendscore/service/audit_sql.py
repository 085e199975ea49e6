"""SQL audit store (SQLite or PostgreSQL) with a single writer thread doing group commit.

Durability: every request's rows are written by one writer thread. It takes whatever writes are
queued (up to ``max_group`` rows), writes them in **one** transaction and completes their futures
only after ``COMMIT`` returned. Under load many requests share one commit (and one fsync), which
is how SQLite reaches thousands of durable decisions a second. SQLite runs in WAL mode with
``synchronous=FULL`` by default (the WAL is fsynced at every commit: a committed decision
survives a process kill *and* a power cut); ``NORMAL`` survives a process kill but may lose the
last commits on a power cut. New SQLite files get 8 KiB pages: a decision row (about 2.5 KB of
JSON) takes a whole 4 KiB page but a third of an 8 KiB one, so a batch writes (and fsyncs) a third
fewer bytes and checkpoints half as often (existing files keep their page size). A transaction
that fails is retried item by item, so one bad write cannot sink its neighbours; an item that still
fails completes with :class:`AuditUnavailable`.

Shadow scores (the challenger's pd, score, grade) go to table ``shadow_scores`` in the transaction
of their decision. The schema is created and upgraded by the Alembic migrations in ``service/migrations`` when the
store starts (``alembic upgrade head`` on the same URL does the same from the command line).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import queue
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import replace
from importlib import resources
from typing import Any

import pandas as pd
import sqlalchemy as sa

from lendscore.service._json import loads as _loads
from lendscore.service.audit_records import (
    DECISION_COLUMNS,
    AuditConflict,
    AuditNotFound,
    AuditUnavailable,
    DecisionRecord,
    OutcomeRecord,
    decisions_to_frame,
    outcomes_to_frame,
    shadow_to_frame,
    times_frame,
)

__all__ = ["SqlAuditStore", "metadata", "decisions_table", "outcomes_table", "shadow_table", "upgrade"]

log = logging.getLogger("lendscore.service.audit")

metadata = sa.MetaData()
decisions_table = sa.Table(
    "decisions",
    metadata,
    sa.Column("decision_id", sa.String(36), primary_key=True),
    sa.Column("request_id", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(), nullable=False),  # UTC
    sa.Column("model_version", sa.String(200), nullable=False),
    sa.Column("policy_version", sa.String(200), nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("pd", sa.Float(), nullable=False),
    sa.Column("score", sa.Float(), nullable=False),
    sa.Column("grade", sa.String(16), nullable=True),
    sa.Column("applicant_id", sa.String(64), nullable=True),
    sa.Column("api_key_name", sa.String(64), nullable=False),
    sa.Column("idempotency_key", sa.String(200), nullable=True, unique=True),
    sa.Column("request_sha256", sa.String(64), nullable=True),
    sa.Column("batch_id", sa.String(36), nullable=True),
    sa.Column("inputs", sa.Text(), nullable=False),
    sa.Column("result", sa.Text(), nullable=False),
)
outcomes_table = sa.Table(
    "outcomes",
    metadata,
    sa.Column("decision_id", sa.String(36), sa.ForeignKey("decisions.decision_id"), primary_key=True),
    sa.Column("defaulted", sa.SmallInteger(), nullable=False),
    sa.Column("outcome_date", sa.Date(), nullable=True),
    sa.Column("reported_at", sa.DateTime(), nullable=False),  # UTC
    sa.Column("reported_by", sa.String(64), nullable=False),
)
shadow_table = sa.Table(
    "shadow_scores",
    metadata,
    sa.Column("decision_id", sa.String(36), sa.ForeignKey("decisions.decision_id"), primary_key=True),
    sa.Column("challenger_version", sa.String(200), nullable=False),
    sa.Column("pd", sa.Float(), nullable=False),
    sa.Column("score", sa.Float(), nullable=False),
    sa.Column("grade", sa.String(16), nullable=True),
)

_STOP = object()
_CHUNK = 500


def _naive_utc(t: dt.datetime) -> dt.datetime:
    return t.astimezone(dt.UTC).replace(tzinfo=None) if t.tzinfo else t


def _aware(t: dt.datetime) -> dt.datetime:
    return t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), allow_nan=False)


_COLUMNS = [c.name for c in decisions_table.columns]


def _row_of(r: DecisionRecord) -> dict[str, Any]:
    return {
        "decision_id": r.decision_id,
        "request_id": r.request_id,
        "created_at": _naive_utc(r.created_at),
        "model_version": r.model_version,
        "policy_version": r.policy_version,
        "outcome": r.outcome,
        "pd": r.pd,
        "score": r.score,
        "grade": r.grade,
        "applicant_id": r.applicant_id,
        "api_key_name": r.api_key_name,
        "idempotency_key": r.idempotency_key,
        "request_sha256": r.request_sha256,
        "batch_id": r.batch_id,
        "inputs": r.inputs_json or _dumps(r.inputs),
        "result": r.result_json or _dumps(r.result),
    }


_SQLITE_INSERT = f"INSERT INTO decisions ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"


def _sqlite_params(records: Sequence[DecisionRecord]) -> list[tuple]:
    """``_row_of`` as parameter tuples in ``_COLUMNS`` order (the table's column order; the round-trip
    tests read every column back), ``created_at`` in SQLAlchemy's SQLite DateTime text form, formatted
    once per distinct time (a batch's records share one)."""
    stamps: dict[dt.datetime, str] = {}
    out = []
    for r in records:
        t = stamps.get(r.created_at)
        if t is None:
            t = stamps[r.created_at] = _naive_utc(r.created_at).strftime("%Y-%m-%d %H:%M:%S.%f")
        out.append(
            (
                r.decision_id,
                r.request_id,
                t,
                r.model_version,
                r.policy_version,
                r.outcome,
                r.pd,
                r.score,
                r.grade,
                r.applicant_id,
                r.api_key_name,
                r.idempotency_key,
                r.request_sha256,
                r.batch_id,
                r.inputs_json or _dumps(r.inputs),
                r.result_json or _dumps(r.result),
            )
        )
    return out


def _record_of(row: Any) -> DecisionRecord:
    m = row._mapping
    return DecisionRecord(
        result_json=m["result"],
        inputs_json=m["inputs"],
        decision_id=m["decision_id"],
        request_id=m["request_id"],
        created_at=_aware(m["created_at"]),
        model_version=m["model_version"],
        policy_version=m["policy_version"],
        outcome=m["outcome"],
        pd=float(m["pd"]),
        score=float(m["score"]),
        grade=m["grade"],
        inputs=_loads(m["inputs"]),
        result=_loads(m["result"]),
        api_key_name=m["api_key_name"],
        applicant_id=m["applicant_id"],
        idempotency_key=m["idempotency_key"],
        request_sha256=m["request_sha256"],
        batch_id=m["batch_id"],
    )


_FRAME_COLUMNS = (*DECISION_COLUMNS, "inputs")


def _frame_record(row) -> DecisionRecord:
    """A record with what :func:`decisions_to_frame` reads (the result JSON is not parsed)."""
    m = row._mapping
    return DecisionRecord(
        decision_id=m["decision_id"],
        request_id=m["request_id"],
        created_at=_aware(m["created_at"]),
        model_version=m["model_version"],
        policy_version=m["policy_version"],
        outcome=m["outcome"],
        pd=float(m["pd"]),
        score=float(m["score"]),
        grade=m["grade"],
        inputs=_loads(m["inputs"]),
        result={},
        api_key_name="",
    )


def upgrade(connection: sa.Connection, revision: str = "head") -> None:
    """Run the Alembic migrations on ``connection`` (creates or upgrades the schema)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("lendscore.service") / "migrations"))
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, revision)


class _Write:
    __slots__ = ("kind", "payload", "future")

    def __init__(self, kind: str, payload: Any):
        self.kind, self.payload = kind, payload
        self.future: Future[Any] = Future()


_WAL_SAFETY_PAGES = 16_384  # 128 MiB of 8 KiB pages: SQLite checkpoints itself only past this
_WAL_KEEP_BYTES = 64 * 2**20  # the WAL file is cut back to this after a checkpoint lets it restart


class SqlAuditStore:
    """Audit store on an SQLAlchemy URL (``sqlite:///path`` or ``postgresql+psycopg://...``)."""

    def __init__(
        self,
        url: str,
        *,
        sqlite_synchronous: str = "FULL",
        max_group: int = 5000,
        checkpoint_seconds: float | None = 0.2,
    ):
        self.url = url
        self.sqlite_synchronous = sqlite_synchronous
        self.max_group = max_group
        self.checkpoint_seconds = checkpoint_seconds  # SQLite: background WAL checkpoints (None: SQLite's own)
        self._checkpointer: threading.Thread | None = None
        self._stopping = threading.Event()
        self.is_sqlite = url.startswith("sqlite")
        self.engine: sa.Engine | None = None
        self._queue: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self.commits = 0  # transactions committed (for metrics)
        self.rows_committed = 0  # decision rows committed

    # ------------------------------------------------------------------ life cycle
    def start(self) -> None:
        if self._thread is not None:
            return
        kwargs: dict[str, Any] = {}
        if self.is_sqlite:
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        else:
            kwargs.update(pool_size=5, max_overflow=5, pool_pre_ping=True)
        engine = sa.create_engine(self.url, **kwargs)
        background = self.is_sqlite and self.checkpoint_seconds is not None
        if self.is_sqlite:
            sync = self.sqlite_synchronous

            @sa.event.listens_for(engine, "connect")
            def _pragmas(dbapi_conn, _record):
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA page_size=8192")
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute(f"PRAGMA synchronous={sync}")
                cur.execute("PRAGMA busy_timeout=30000")
                cur.execute("PRAGMA foreign_keys=ON")
                if background:  # a safety net only: the checkpointer thread keeps the WAL short
                    cur.execute(f"PRAGMA wal_autocheckpoint={_WAL_SAFETY_PAGES}")
                    cur.execute(f"PRAGMA journal_size_limit={_WAL_KEEP_BYTES}")  # the file shrinks back
                cur.close()

        try:
            with engine.begin() as conn:
                upgrade(conn)
        except sa.exc.SQLAlchemyError as exc:
            engine.dispose()
            raise AuditUnavailable(
                f"audit store {sa.make_url(self.url).render_as_string(hide_password=True)}: "
                f"cannot open or migrate: {type(exc).__name__}"
            ) from exc
        self.engine = engine
        self._thread = threading.Thread(target=self._run, name="lendscore-audit-writer", daemon=True)
        self._thread.start()
        if background:
            self._stopping.clear()
            self._checkpointer = threading.Thread(
                target=self._checkpoint_loop, name="lendscore-audit-checkpoint", daemon=True
            )
            self._checkpointer.start()

    def _checkpoint_loop(self) -> None:
        """Copy committed WAL frames into the database file off the commit path.

        In WAL mode SQLite checkpoints inside the commit that crosses ``wal_autocheckpoint`` pages
        (1,000 by default), so every few batches one commit also copied the WAL into the database
        and fsynced it: twice the usual commit time, on whichever request fell there. A PASSIVE
        checkpoint from this thread blocks neither the writer nor readers; durability is the
        WAL's, fsynced at every commit as before.
        """
        seen = 0  # nothing to do until this store commits (a reader, e.g. the monitoring worker, never does)
        while not self._stopping.wait(self.checkpoint_seconds):
            if self.commits == seen or self.engine is None:
                continue
            seen = self.commits
            try:
                with self.engine.connect() as conn:
                    conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
            except sa.exc.SQLAlchemyError as exc:  # the next round tries again; SQLite's own net remains
                log.warning("audit WAL checkpoint failed: %s", type(exc).__name__)

    def close(self) -> None:
        if self._checkpointer is not None:
            self._stopping.set()
            self._checkpointer.join(timeout=30)
            self._checkpointer = None
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join(timeout=30)
            self._thread = None
        if self.engine is not None:
            self.engine.dispose()
            self.engine = None

    def ping(self) -> bool:
        if self.engine is None or self._thread is None or not self._thread.is_alive():
            return False
        try:
            with self.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
            return True
        except sa.exc.SQLAlchemyError:
            return False

    @property
    def queue_depth(self) -> int:
        return self._queue.qsize()

    # ------------------------------------------------------------------ writes
    def _submit(self, kind: str, payload: Any) -> Future:
        w = _Write(kind, payload)
        if self._thread is None:
            w.future.set_exception(AuditUnavailable("audit store is not started"))
        else:
            self._queue.put(w)
        return w.future

    def submit_decisions(self, records: Sequence[DecisionRecord]) -> Future[list[DecisionRecord]]:
        return self._submit("decisions", list(records))

    def submit_outcome(self, record: OutcomeRecord) -> Future[OutcomeRecord]:
        return self._submit("outcome", record)

    def submit_outcomes(self, records: Sequence[OutcomeRecord]) -> Future[list[Any]]:
        return self._submit("outcomes", list(records))

    def _run(self) -> None:
        stop = False
        while not stop:
            first = self._queue.get()
            if first is _STOP:
                break
            group, n = [first], self._size(first)
            while n < self.max_group:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    stop = True
                    break
                group.append(nxt)
                n += self._size(nxt)
            self._write_group(group)

    @staticmethod
    def _size(w: _Write) -> int:
        return len(w.payload) if w.kind in ("decisions", "outcomes") else 1

    def _write_group(self, group: list[_Write]) -> None:
        try:
            with self._engine().begin() as conn:  # AuditUnavailable if closed meanwhile: as a failed commit
                results = self._apply(conn, group)
        except Exception as exc:
            if len(group) > 1:
                log.warning(
                    "audit group commit failed (%s); retrying %d writes one by one", type(exc).__name__, len(group)
                )
                for w in group:
                    self._write_group([w])
                return
            log.error("audit write failed: %s", type(exc).__name__)
            group[0].future.set_exception(AuditUnavailable(f"audit store could not commit: {type(exc).__name__}"))
            return
        self.commits += 1
        for w, res in zip(group, results, strict=True):
            if isinstance(res, BaseException):
                w.future.set_exception(res)
            else:
                if w.kind == "decisions":
                    self.rows_committed += sum(not r.replayed for r in res)
                w.future.set_result(res)

    def _apply(self, conn: sa.Connection, group: list[_Write]) -> list[Any]:
        keys = [r.idempotency_key for w in group if w.kind == "decisions" for r in w.payload if r.idempotency_key]
        stored = self._fetch_keys(conn, keys)
        results: list[Any] = []
        rows: list[DecisionRecord] = []
        shadows: list[tuple] = []
        new_ids: set[str] = set()
        outcome_rows: list[dict[str, Any]] = []
        for w in group:
            if w.kind == "decisions":
                recs: list[DecisionRecord] = w.payload
                hits = [stored[r.idempotency_key] for r in recs if r.idempotency_key in stored]
                if hits:
                    results.append(
                        [replace(h, replayed=True) for h in hits]
                        if len(hits) == len(recs)
                        else AuditConflict("idempotency key reused with a different batch")
                    )
                    continue
                for r in recs:
                    if r.idempotency_key:
                        stored[r.idempotency_key] = r
                    new_ids.add(r.decision_id)
                rows.extend(recs)
                shadows.extend(
                    (r.decision_id, r.shadow["model_version"], r.shadow["pd"], r.shadow["score"], r.shadow["grade"])
                    for r in recs
                    if r.shadow
                )
                results.append(recs)
            elif w.kind == "outcomes":
                results.append(self._check_outcomes(conn, w.payload, new_ids, outcome_rows))
            else:
                rec: OutcomeRecord = w.payload
                results.append(self._check_outcome(conn, rec, new_ids, outcome_rows))
        if rows and self.is_sqlite:  # plain executemany: no statement compilation per row
            conn.exec_driver_sql(_SQLITE_INSERT, _sqlite_params(rows))
        elif rows:
            conn.execute(decisions_table.insert(), [_row_of(r) for r in rows])
        if shadows:
            cols = ("decision_id", "challenger_version", "pd", "score", "grade")
            conn.execute(shadow_table.insert(), [dict(zip(cols, s, strict=True)) for s in shadows])
        if outcome_rows:
            conn.execute(outcomes_table.insert(), outcome_rows)
        return results

    def _check_outcome(self, conn, rec: OutcomeRecord, new_ids: set[str], pending: list[dict]) -> Any:
        d = decisions_table.c
        exists = (
            rec.decision_id in new_ids
            or conn.execute(sa.select(d.decision_id).where(d.decision_id == rec.decision_id)).first() is not None
        )
        if not exists:
            return AuditNotFound(f"decision {rec.decision_id!r} is not in the audit store")
        o = outcomes_table.c
        if (
            any(p["decision_id"] == rec.decision_id for p in pending)
            or conn.execute(sa.select(o.decision_id).where(o.decision_id == rec.decision_id)).first() is not None
        ):
            return AuditConflict(f"an outcome for decision {rec.decision_id!r} is already stored")
        pending.append(
            {
                "decision_id": rec.decision_id,
                "defaulted": int(rec.defaulted),
                "outcome_date": rec.outcome_date,
                "reported_at": _naive_utc(rec.reported_at),
                "reported_by": rec.reported_by,
            }
        )
        return rec

    def _check_outcomes(self, conn, recs: list[OutcomeRecord], new_ids: set[str], pending: list[dict]) -> list[Any]:
        """Bulk version of :meth:`_check_outcome` (two queries per chunk, not two per row)."""
        ids = list(dict.fromkeys(r.decision_id for r in recs))
        known, done = set(new_ids), {p["decision_id"] for p in pending}
        for i in range(0, len(ids), _CHUNK):
            chunk = ids[i : i + _CHUNK]
            known.update(
                conn.execute(
                    sa.select(decisions_table.c.decision_id).where(decisions_table.c.decision_id.in_(chunk))
                ).scalars()
            )
            done.update(
                conn.execute(
                    sa.select(outcomes_table.c.decision_id).where(outcomes_table.c.decision_id.in_(chunk))
                ).scalars()
            )
        out: list[Any] = []
        for rec in recs:
            if rec.decision_id not in known:
                out.append(AuditNotFound(f"decision {rec.decision_id!r} is not in the audit store"))
            elif rec.decision_id in done:
                out.append(AuditConflict(f"an outcome for decision {rec.decision_id!r} is already stored"))
            else:
                done.add(rec.decision_id)
                pending.append(
                    {
                        "decision_id": rec.decision_id,
                        "defaulted": int(rec.defaulted),
                        "outcome_date": rec.outcome_date,
                        "reported_at": _naive_utc(rec.reported_at),
                        "reported_by": rec.reported_by,
                    }
                )
                out.append(rec)
        return out

    @staticmethod
    def _fetch_keys(conn: sa.Connection, keys: list[str]) -> dict[str, DecisionRecord]:
        out: dict[str, DecisionRecord] = {}
        for i in range(0, len(keys), _CHUNK):
            chunk = keys[i : i + _CHUNK]
            q = sa.select(decisions_table).where(decisions_table.c.idempotency_key.in_(chunk))
            for row in conn.execute(q):
                out[row._mapping["idempotency_key"]] = _record_of(row)
        return out

    # ------------------------------------------------------------------ reads
    def _engine(self) -> sa.Engine:
        if self.engine is None:
            raise AuditUnavailable("audit store is not started")
        return self.engine

    def get_decision(self, decision_id: str) -> DecisionRecord | None:
        with self._engine().connect() as conn:
            row = conn.execute(sa.select(decisions_table).where(decisions_table.c.decision_id == decision_id)).first()
        return None if row is None else _record_of(row)

    def find_idempotent(self, keys: Sequence[str]) -> dict[str, DecisionRecord]:
        with self._engine().connect() as conn:
            return self._fetch_keys(conn, list(keys))

    def recent_decisions(self, limit: int) -> list[DecisionRecord]:
        d = decisions_table.c
        with self._engine().connect() as conn:
            rows = conn.execute(
                sa.select(decisions_table).order_by(d.created_at.desc(), d.decision_id).limit(limit)
            ).all()
        return [_record_of(r) for r in rows]

    def decisions_frame(self, since: dt.datetime | None = None, until: dt.datetime | None = None) -> pd.DataFrame:
        d = decisions_table.c
        q = sa.select(*(decisions_table.c[c] for c in _FRAME_COLUMNS))
        if since is not None:
            q = q.where(d.created_at >= _naive_utc(since))
        if until is not None:
            q = q.where(d.created_at < _naive_utc(until))
        with self._engine().connect() as conn:
            records = [_frame_record(r) for r in conn.execute(q.order_by(d.created_at))]
        return decisions_to_frame(records)

    def decision_times(self, decision_ids: Sequence[str]) -> pd.DataFrame:
        d = decisions_table.c
        ids, pairs = list(dict.fromkeys(decision_ids)), []
        with self._engine().connect() as conn:
            for i in range(0, len(ids), _CHUNK):
                pairs += [
                    (r.decision_id, _aware(r.created_at))
                    for r in conn.execute(
                        sa.select(d.decision_id, d.created_at).where(d.decision_id.in_(ids[i : i + _CHUNK]))
                    )
                ]
        return times_frame(pairs)

    def stored_outcome_ids(self, decision_ids: Sequence[str]) -> set[str]:
        o = outcomes_table.c
        ids, out = list(dict.fromkeys(decision_ids)), set[str]()
        with self._engine().connect() as conn:
            for i in range(0, len(ids), _CHUNK):
                out.update(
                    conn.execute(sa.select(o.decision_id).where(o.decision_id.in_(ids[i : i + _CHUNK]))).scalars()
                )
        return out

    def shadow_frame(self) -> pd.DataFrame:
        d, s = decisions_table.c, shadow_table.c
        q = sa.select(
            s.decision_id, d.created_at, d.model_version, s.challenger_version, s.pd, s.score, s.grade
        ).join_from(shadow_table, decisions_table, s.decision_id == d.decision_id)
        with self._engine().connect() as conn:
            rows = [(r[0], _aware(r[1]), *r[2:]) for r in conn.execute(q)]
        return shadow_to_frame(rows)

    def outcomes_frame(self) -> pd.DataFrame:
        with self._engine().connect() as conn:
            rows = conn.execute(sa.select(outcomes_table)).all()
        return outcomes_to_frame(
            OutcomeRecord(
                decision_id=r.decision_id,
                defaulted=int(r.defaulted),
                reported_at=_aware(r.reported_at),
                reported_by=r.reported_by,
                outcome_date=r.outcome_date,
            )
            for r in rows
        )

"""The audit store: every decision, durably, before its response is sent.

:class:`AuditStore` is the boundary (a small protocol, httpx-transport style). Implementations:

- :class:`lendscore.service.audit_sql.SqlAuditStore` - SQLite (default, WAL) or PostgreSQL through
  SQLAlchemy, schema managed by Alembic migrations, one writer thread doing *group commit*;
- :class:`InMemoryAuditStore` - a fake for tests (same semantics, nothing durable).

Writes are submitted and return a :class:`concurrent.futures.Future` that completes only after
the transaction holding the write has committed; a failed commit completes it with
:class:`AuditUnavailable`, so the service answers 503 and never 200 for an unstored decision.

Idempotency: a decision submitted with an ``idempotency_key`` that is already stored is not
stored again; the future returns the stored record with ``replayed=True``.

Shadow scores: a decision may carry the challenger's pd, score and grade (``DecisionRecord.shadow``);
they are stored in the same transaction, in their own table, and read with :meth:`AuditStore.shadow_frame`.

Outcomes: :meth:`AuditStore.submit_outcomes` stores a validated batch in one transaction; a row that
a concurrent write made unknown or duplicate comes back as its :class:`AuditError`, the others are stored.

Monitoring reads :meth:`AuditStore.decisions_frame` and :meth:`AuditStore.outcomes_frame`.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import replace
from typing import Any, Protocol

import pandas as pd

from lendscore.service.audit_records import (
    DECISION_COLUMNS,
    OUTCOME_COLUMNS,
    SHADOW_COLUMNS,
    AuditConflict,
    AuditError,
    AuditNotFound,
    AuditUnavailable,
    DecisionRecord,
    OutcomeRecord,
    as_utc,
    decisions_to_frame,
    new_id,
    outcomes_to_frame,
    shadow_to_frame,
    times_frame,
    utcnow,
    uuid7,
)

# the records, errors, ids and frames are defined in audit_records (which the SQL store imports
# instead of this module) and re-exported here
__all__ = [
    "AuditConflict",
    "AuditError",
    "AuditNotFound",
    "AuditStore",
    "AuditUnavailable",
    "DecisionRecord",
    "InMemoryAuditStore",
    "OutcomeRecord",
    "DECISION_COLUMNS",
    "OUTCOME_COLUMNS",
    "SHADOW_COLUMNS",
    "decisions_to_frame",
    "shadow_to_frame",
    "new_id",
    "outcomes_to_frame",
    "open_store",
    "utcnow",
    "uuid7",
]


class AuditStore(Protocol):
    """Where decisions and outcomes are kept. Every write is committed before its future completes."""

    def start(self) -> None: ...
    def close(self) -> None: ...
    def ping(self) -> bool: ...
    def submit_decisions(self, records: Sequence[DecisionRecord]) -> Future[list[DecisionRecord]]: ...
    def submit_outcome(self, record: OutcomeRecord) -> Future[OutcomeRecord]: ...
    def submit_outcomes(self, records: Sequence[OutcomeRecord]) -> Future[list[OutcomeRecord | AuditError]]: ...
    def decision_times(self, decision_ids: Sequence[str]) -> pd.DataFrame: ...
    def stored_outcome_ids(self, decision_ids: Sequence[str]) -> set[str]: ...
    def shadow_frame(self) -> pd.DataFrame: ...
    def get_decision(self, decision_id: str) -> DecisionRecord | None: ...
    def find_idempotent(self, keys: Sequence[str]) -> dict[str, DecisionRecord]: ...
    def recent_decisions(self, limit: int) -> list[DecisionRecord]: ...
    def decisions_frame(self, since: dt.datetime | None = None, until: dt.datetime | None = None) -> pd.DataFrame: ...
    def outcomes_frame(self) -> pd.DataFrame: ...


def _done(value: Any = None, exc: BaseException | None = None) -> Future:
    fut: Future = Future()
    if exc is not None:
        fut.set_exception(exc)
    else:
        fut.set_result(value)
    return fut


class InMemoryAuditStore:
    """A fake store for tests: same rules (idempotency, one outcome per decision), nothing durable."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._decisions: dict[str, DecisionRecord] = {}
        self._by_key: dict[str, str] = {}
        self._outcomes: dict[str, OutcomeRecord] = {}
        self.fail_writes = False  # tests set this to simulate a store that cannot commit

    def start(self) -> None:
        pass

    def close(self) -> None:
        pass

    def ping(self) -> bool:
        return not self.fail_writes

    def submit_decisions(self, records: Sequence[DecisionRecord]) -> Future[list[DecisionRecord]]:
        if self.fail_writes:
            return _done(exc=AuditUnavailable("in-memory store set to fail"))
        with self._lock:
            keys = [r.idempotency_key for r in records if r.idempotency_key]
            stored = [self._by_key[k] for k in keys if k in self._by_key]
            if stored:
                if len(stored) != len(records):
                    return _done(exc=AuditConflict("idempotency key reused with a different batch"))
                return _done([replace(self._decisions[d], replayed=True) for d in stored])
            for r in records:
                self._decisions[r.decision_id] = r
                if r.idempotency_key:
                    self._by_key[r.idempotency_key] = r.decision_id
        return _done(list(records))

    def submit_outcome(self, record: OutcomeRecord) -> Future[OutcomeRecord]:
        with self._lock:
            if record.decision_id not in self._decisions:
                return _done(exc=AuditNotFound(f"decision {record.decision_id!r} is not in the audit store"))
            if record.decision_id in self._outcomes:
                return _done(exc=AuditConflict(f"an outcome for decision {record.decision_id!r} is already stored"))
            self._outcomes[record.decision_id] = record
        return _done(record)

    def submit_outcomes(self, records: Sequence[OutcomeRecord]) -> Future[list[OutcomeRecord | AuditError]]:
        if self.fail_writes:
            return _done(exc=AuditUnavailable("in-memory store set to fail"))
        out: list[OutcomeRecord | AuditError] = []
        with self._lock:
            for r in records:
                if r.decision_id not in self._decisions:
                    out.append(AuditNotFound(f"decision {r.decision_id!r} is not in the audit store"))
                elif r.decision_id in self._outcomes:
                    out.append(AuditConflict(f"an outcome for decision {r.decision_id!r} is already stored"))
                else:
                    self._outcomes[r.decision_id] = r
                    out.append(r)
        return _done(out)

    def decision_times(self, decision_ids: Sequence[str]) -> pd.DataFrame:
        with self._lock:
            return times_frame(
                (d, self._decisions[d].created_at) for d in dict.fromkeys(decision_ids) if d in self._decisions
            )

    def stored_outcome_ids(self, decision_ids: Sequence[str]) -> set[str]:
        with self._lock:
            return {d for d in decision_ids if d in self._outcomes}

    def shadow_frame(self) -> pd.DataFrame:
        with self._lock:
            records = list(self._decisions.values())
        return shadow_to_frame(
            (
                r.decision_id,
                r.created_at,
                r.model_version,
                r.shadow["model_version"],
                r.shadow["pd"],
                r.shadow["score"],
                r.shadow["grade"],
            )
            for r in records
            if r.shadow
        )

    def get_decision(self, decision_id: str) -> DecisionRecord | None:
        return self._decisions.get(decision_id)

    def find_idempotent(self, keys: Sequence[str]) -> dict[str, DecisionRecord]:
        with self._lock:
            return {k: self._decisions[self._by_key[k]] for k in keys if k in self._by_key}

    def recent_decisions(self, limit: int) -> list[DecisionRecord]:
        with self._lock:
            records = list(self._decisions.values())
        return sorted(records, key=lambda r: r.created_at, reverse=True)[:limit]

    def decisions_frame(self, since=None, until=None) -> pd.DataFrame:
        since, until = as_utc(since), as_utc(until)
        return decisions_to_frame(
            r
            for r in list(self._decisions.values())
            if (since is None or as_utc(r.created_at) >= since) and (until is None or as_utc(r.created_at) < until)
        )

    def outcomes_frame(self) -> pd.DataFrame:
        return outcomes_to_frame(list(self._outcomes.values()))


def open_store(url: str, *, sqlite_synchronous: str = "FULL") -> AuditStore:
    """The store for a settings URL: ``memory://`` (fake) or an SQLAlchemy URL (SQLite, PostgreSQL)."""
    if url == "memory://":
        return InMemoryAuditStore()
    from lendscore.service.audit_sql import SqlAuditStore

    return SqlAuditStore(url, sqlite_synchronous=sqlite_synchronous)

"""Audit stores: the SQLite store (WAL, Alembic, group commit) and the in-memory fake keep the same rules."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading

import pandas as pd
import pytest

from lendscore.service.audit import (
    AuditConflict,
    AuditNotFound,
    DecisionRecord,
    InMemoryAuditStore,
    OutcomeRecord,
    new_id,
)
from lendscore.service.audit_sql import SqlAuditStore

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def record(i: int, *, key: str | None = None, t: dt.datetime | None = None, outcome: str = "approve") -> DecisionRecord:
    applicant = {"dti": float(i), "purpose": "car" if i % 2 else None, "grade": "B"}
    return DecisionRecord(
        decision_id=new_id(),
        request_id=f"req-{i}",
        created_at=t or T0 + dt.timedelta(seconds=i),
        model_version="m1",
        policy_version="p1",
        outcome=outcome,
        pd=0.01 * (i % 50 + 1),
        score=600.0 - i,
        grade="C",
        inputs={"applicant": applicant, "finances": None, "loan": None, "applicant_id": None},
        result={"decision_id": "x", "i": i},
        api_key_name="scorer-client",
        idempotency_key=key,
        request_sha256="h" * 64,
    )


@pytest.fixture(params=["sqlite", "memory"])
def store(request, tmp_path):
    s = SqlAuditStore(f"sqlite:///{tmp_path / 'a.db'}") if request.param == "sqlite" else InMemoryAuditStore()
    s.start()
    yield s
    s.close()


def test_decisions_round_trip(store):
    recs = [record(i) for i in range(5)]
    stored = store.submit_decisions(recs).result(timeout=10)
    assert [r.decision_id for r in stored] == [r.decision_id for r in recs]
    got = store.get_decision(recs[2].decision_id)
    assert got.inputs == recs[2].inputs and got.result == recs[2].result and got.created_at == recs[2].created_at
    assert store.get_decision("missing") is None
    assert [r.decision_id for r in store.recent_decisions(2)] == [recs[4].decision_id, recs[3].decision_id]


def test_decisions_frame_columns_and_window(store):
    store.submit_decisions([record(i) for i in range(10)]).result(timeout=10)
    frame = store.decisions_frame()
    assert list(frame.columns[:9]) == [
        "decision_id",
        "request_id",
        "created_at",
        "model_version",
        "policy_version",
        "outcome",
        "pd",
        "score",
        "grade",
    ]
    assert list(frame.columns[9:]) == ["dti", "purpose", "applicant.grade"]
    assert str(frame["created_at"].dtype) == "datetime64[us, UTC]" or str(frame["created_at"].dtype).endswith("UTC]")
    assert frame["dti"].dtype == float and frame["pd"].dtype == float
    assert frame["purpose"].isna().sum() == 5
    window = store.decisions_frame(since=T0 + dt.timedelta(seconds=3), until=T0 + dt.timedelta(seconds=6))
    assert list(window["request_id"]) == ["req-3", "req-4", "req-5"]
    empty = store.decisions_frame(since=T0 + dt.timedelta(days=1))
    assert len(empty) == 0 and list(empty.columns) == list(frame.columns[:9])


def test_outcomes(store):
    recs = [record(i) for i in range(3)]
    store.submit_decisions(recs).result(timeout=10)
    o = OutcomeRecord(recs[0].decision_id, 1, T0, "admin-client", dt.date(2026, 9, 1))
    store.submit_outcome(o).result(timeout=10)
    store.submit_outcome(OutcomeRecord(recs[1].decision_id, 0, T0, "admin-client")).result(timeout=10)
    with pytest.raises(AuditConflict):
        store.submit_outcome(o).result(timeout=10)
    with pytest.raises(AuditNotFound):
        store.submit_outcome(OutcomeRecord("nope", 0, T0, "admin-client")).result(timeout=10)
    frame = store.outcomes_frame()
    assert list(frame.columns) == ["decision_id", "defaulted", "reported_at", "outcome_date"]
    assert frame["defaulted"].tolist() == [1, 0] and frame["defaulted"].dtype == "int64"
    assert frame["outcome_date"].iloc[0] == pd.Timestamp("2026-09-01") and pd.isna(frame["outcome_date"].iloc[1])


def test_idempotency_key_stores_once(store):
    a = store.submit_decisions([record(1, key="k1")]).result(timeout=10)
    b = store.submit_decisions([record(2, key="k1")]).result(timeout=10)
    assert b[0].replayed and b[0].decision_id == a[0].decision_id
    assert len(store.decisions_frame()) == 1
    assert store.find_idempotent(["k1", "k2"]).keys() == {"k1"}


def test_concurrent_writers_share_commits(tmp_path):
    """Many threads submitting at once: every write is committed, in far fewer transactions."""
    s = SqlAuditStore(f"sqlite:///{tmp_path / 'g.db'}")
    s.start()
    futures, lock = [], threading.Lock()

    def submit(k):
        for j in range(50):
            f = s.submit_decisions([record(k * 100 + j, key=f"key-{k}-{j % 25}")])
            with lock:
                futures.append(f)

    threads = [threading.Thread(target=submit, args=(k,)) for k in range(8)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    results = [f.result(timeout=30)[0] for f in futures]
    s.close()
    assert sum(not r.replayed for r in results) == 8 * 25  # the repeated keys were replayed, not stored
    with sqlite3.connect(tmp_path / "g.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM decisions").fetchone()[0] == 200
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone()[0] == "0002"
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert s.commits < len(futures)


def test_failed_group_is_retried_item_by_item(tmp_path):
    s = SqlAuditStore(f"sqlite:///{tmp_path / 'f.db'}")
    s.start()
    good = record(1)
    s.submit_decisions([good]).result(timeout=10)
    dup = DecisionRecord(**{**good.__dict__, "request_id": "again"})  # same primary key: the insert fails
    from lendscore.service.audit import AuditUnavailable

    with pytest.raises(AuditUnavailable):
        s.submit_decisions([dup]).result(timeout=10)
    ok = s.submit_decisions([record(2)]).result(timeout=10)  # the writer is still alive
    assert ok and s.ping()
    s.close()


def test_reopen_keeps_data_and_schema(tmp_path):
    url = f"sqlite:///{tmp_path / 'r.db'}"
    s = SqlAuditStore(url)
    s.start()
    r = record(7)
    s.submit_decisions([r]).result(timeout=10)
    s.close()
    s2 = SqlAuditStore(url)
    s2.start()  # migrations are idempotent
    assert s2.get_decision(r.decision_id).result == r.result
    s2.close()


def test_alembic_downgrade_and_upgrade(tmp_path):
    import sqlalchemy as sa

    from lendscore.service.audit_sql import upgrade

    engine = sa.create_engine(f"sqlite:///{tmp_path / 'm.db'}")
    with engine.begin() as conn:
        upgrade(conn)
    with engine.begin() as conn:
        from importlib import resources

        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(resources.files("lendscore.service") / "migrations"))
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    assert "decisions" not in sa.inspect(engine).get_table_names()
    with engine.begin() as conn:
        upgrade(conn)
    assert {"decisions", "outcomes", "shadow_scores"} <= set(sa.inspect(engine).get_table_names())
    engine.dispose()


def test_a_0001_store_is_upgraded_to_0002_keeping_its_rows(tmp_path):
    import sqlalchemy as sa

    from lendscore.service.audit_sql import upgrade

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        upgrade(conn, "0001")
        assert "shadow_scores" not in sa.inspect(conn).get_table_names()
    engine.dispose()
    old = record(3)
    s = SqlAuditStore(url)
    s.start()  # upgrades to head
    s.submit_decisions([old]).result(timeout=10)
    shadowed = DecisionRecord(
        **{**record(4).__dict__, "shadow": {"model_version": "v2", "pd": 0.2, "score": 555.0, "grade": "E"}}
    )
    s.submit_decisions([shadowed]).result(timeout=10)
    frame = s.shadow_frame()
    s.close()
    assert list(frame.columns) == [
        "decision_id",
        "created_at",
        "champion_version",
        "challenger_version",
        "pd",
        "score",
        "grade",
    ]
    assert frame["decision_id"].tolist() == [shadowed.decision_id] and frame.loc[0, "challenger_version"] == "v2"
    assert frame.loc[0, "champion_version"] == "m1" and frame.loc[0, "score"] == 555.0


def test_outcome_batches_are_checked_in_the_writer(store):
    recs = [record(i) for i in range(3)]
    store.submit_decisions(recs).result(timeout=10)
    batch = [
        OutcomeRecord(recs[0].decision_id, 1, T0, "admin-client", dt.date(2026, 9, 1)),
        OutcomeRecord("nope", 0, T0, "admin-client"),
        OutcomeRecord(recs[0].decision_id, 0, T0, "admin-client"),
        OutcomeRecord(recs[1].decision_id, 0, T0, "admin-client"),
    ]
    got = store.submit_outcomes(batch).result(timeout=10)
    assert [type(g).__name__ for g in got] == ["OutcomeRecord", "AuditNotFound", "AuditConflict", "OutcomeRecord"]
    assert sorted(store.stored_outcome_ids([r.decision_id for r in recs])) == sorted(
        [recs[0].decision_id, recs[1].decision_id]
    )
    times = store.decision_times([recs[2].decision_id, "nope"])
    assert times["decision_id"].tolist() == [recs[2].decision_id] and times.loc[0, "created_at"] == recs[2].created_at


def test_new_id_is_a_time_ordered_version_7_uuid():
    import random
    import time
    import uuid

    from lendscore.service.audit import uuid7

    # RFC 9562 appendix A.6 example: 2022-02-22 19:22:22 UTC -> 017F22E2-79B0-7CC3-98C4-DC0C0C07398F
    rand = (0xCC3 << 62) | (0x98C4DC0C0C07398F & (2**62 - 1))
    assert uuid7(0x017F22E279B0, rand) == "017f22e2-79b0-7cc3-98c4-dc0c0c07398f"
    rng = random.Random(7)
    for _ in range(500):
        ms, r = rng.getrandbits(48), rng.getrandbits(74)
        u = uuid.UUID(uuid7(ms, r))
        assert u.version == 7 and u.variant == uuid.RFC_4122 and u.int >> 80 == ms
    before = time.time_ns() // 1_000_000
    ids = [new_id() for _ in range(1000)]
    after = time.time_ns() // 1_000_000
    assert len(set(ids)) == 1000
    stamps = [uuid.UUID(i).int >> 80 for i in ids]
    assert all(uuid.UUID(i).version == 7 and str(uuid.UUID(i)) == i for i in ids)
    assert before <= min(stamps) and max(stamps) <= after and stamps == sorted(stamps)


def test_sqlite_wal_is_checkpointed_in_the_background(tmp_path):
    """Commits leave the WAL to a checkpointer thread: the database file fills while the writer
    only appends, and SQLite's own checkpoint-at-commit is only a far-off safety net."""
    import time

    s = SqlAuditStore(f"sqlite:///{tmp_path / 'a.db'}", checkpoint_seconds=0.05)
    s.start()
    try:
        with s.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 16_384
        before = (tmp_path / "a.db").stat().st_size
        s.submit_decisions([record(i) for i in range(400)]).result()
        deadline = time.monotonic() + 10
        while (tmp_path / "a.db").stat().st_size <= before and time.monotonic() < deadline:
            time.sleep(0.05)
        assert (tmp_path / "a.db").stat().st_size > before  # frames copied into the database file
        assert len(s.decisions_frame()) == 400
    finally:
        s.close()
    assert s._checkpointer is None


def test_sqlite_without_background_checkpoints_keeps_sqlites_default(tmp_path):
    s = SqlAuditStore(f"sqlite:///{tmp_path / 'a.db'}", checkpoint_seconds=None)
    s.start()
    try:
        with s.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 1000
        assert s._checkpointer is None
    finally:
        s.close()

"""The monitoring reader: every source becomes the same frame (kinds told apart by their columns, the
time column found, inputs namespaced as ``input.<name>``), the service's two paths to its store read
the same frame, an older store's flat inputs still read, and PostgreSQL reads as SQLite does."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3

import numpy as np
import pandas as pd
import pytest

import lendscore
from cli_helpers import flat, run
from lendscore.errors import ConfigError, DataError
from lendscore.monitoring import (
    audit_records_frame,
    detect_kind,
    drift,
    load_monitoring_data,
    read_decisions,
)
from lendscore.service.audit import DecisionRecord, InMemoryAuditStore, OutcomeRecord, new_id
from test_service_postgres import pg_url  # noqa: F401 - the PostgreSQL server this module's last test reads

T0 = dt.datetime(2024, 1, 3, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    rng = np.random.default_rng(0)
    n = 3000
    X = pd.DataFrame({"x1": rng.normal(size=n), "grade": rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2])})
    y = (rng.random(n) < 1 / (1 + np.exp(2 - 0.9 * X["x1"] - 0.8 * (X["grade"] == "c")))).astype(int)
    path = tmp_path_factory.mktemp("model") / "m.json"
    from lendscore.training import package_model

    package_model(lendscore.Scorecard(max_rules=0, woe_cv=0).fit(X, y), X).save(path)
    return lendscore.load(path), path


def _records(model, n=240, seed=1):
    """Decisions of three months; the applicant's own ``grade`` (an input) differs from the model's."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        app = {"x1": float(rng.normal(0.3 * (i % 3), 1)), "grade": str(rng.choice(["a", "b", "c", "zz"]))}
        s = model.predict_one(app)
        out.append(
            DecisionRecord(
                decision_id=new_id(),
                request_id=f"r{i}",
                created_at=T0 + dt.timedelta(days=31 * (i % 3), minutes=i),
                model_version="v1" if i % 4 else "v0",
                policy_version="p",
                outcome="approve" if s["pd"] < 0.2 else "decline",
                pd=s["pd"],
                score=s["score"],
                grade=s["grade"],
                inputs={"applicant": app, "finances": None, "loan": None, "applicant_id": f"A{i}"},
                result={"pd": s["pd"]},
                api_key_name="t",
                applicant_id=f"A{i}",
            )
        )
    return out


def _sqlite_store(url, records, outcomes=()):
    from lendscore.service.audit_sql import SqlAuditStore

    store = SqlAuditStore(url)
    store.start()
    try:
        store.submit_decisions(records).result(timeout=60)
        if outcomes:
            store.submit_outcomes(list(outcomes)).result(timeout=60)
    finally:
        store.close()


def test_detect_kind():
    assert detect_kind(["applicant_id", "outcome", "score", "application.grade", "application.finances.x"]) == "decide"
    assert detect_kind(["grade", "issue_d", "lendscore_pd", "lendscore_score", "lendscore_grade"]) == "score"
    assert detect_kind(["grade", "s_pd", "s_score", "s_grade", "s_points_x1"]) == "score"
    assert detect_kind(["decision_id", "created_at", "pd", "score", "grade", "x1"]) == "decisions"
    assert detect_kind(["created_at", "input.grade", "x1"]) == "decisions"
    assert detect_kind(["grade", "x1", "issue_d", "score"]) == "applications"  # a bureau score is an input


def test_the_service_reads_its_store_as_monitor_does(model, tmp_path):
    """The page's in-process path (store records) and its worker path / the CLI (the database) give
    the same frame; the applicant's ``grade`` is ``input.grade``, the model's is ``grade``."""
    m, _ = model
    records = _records(m)
    mem = InMemoryAuditStore()
    mem.submit_decisions(records).result()
    in_process = audit_records_frame(mem.recent_decisions(10**9))
    db = tmp_path / "audit.db"
    _sqlite_store(f"sqlite:///{db}", records)
    read = read_decisions(db, model=m)
    assert read.kind == "audit" and read.time_column == "created_at" and read.outcomes is not None
    cols = ["decision_id", "created_at", "model_version", "outcome", "pd", "score", "grade", "input.x1", "input.grade"]
    pd.testing.assert_frame_equal(in_process[cols], read.frame[cols])
    assert read.frame["input.grade"].tolist() == [
        r.inputs["applicant"]["grade"] for r in sorted(records, key=lambda r: r.created_at)
    ]
    assert set(read.frame["grade"]) <= {g["grade"] for g in m.grades_}
    only = read_decisions(db, model=m, model_version="v1")
    assert len(only.frame) == sum(r.model_version == "v1" for r in records)
    assert any("model version v1" in n for n in only.notes)


def test_an_older_store_with_flat_inputs_and_its_own_table(model, tmp_path):
    m, path = model
    db = tmp_path / "old.sqlite"
    rows = [
        (
            f"d{i}",
            f"2024-0{1 + i % 2}-1{i % 9} 10:00:00",
            "approve",
            0.1,
            550.0,
            "C",
            json.dumps({"x1": 0.1 * i, "grade": "b"}),
        )
        for i in range(40)
    ]
    with sqlite3.connect(db) as con:
        con.execute(
            "CREATE TABLE log (decision_id TEXT, created_at TEXT, outcome TEXT, pd REAL, score REAL, "
            "grade TEXT, inputs TEXT)"
        )
        con.executemany("INSERT INTO log VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    data = load_monitoring_data(db, m, table="log", outcomes_table="none")
    assert data.outcomes is None and len(data.decisions) == 40 and data.scored == 0
    assert sorted(data.decisions["input.x1"]) == pytest.approx([0.1 * i for i in range(40)])
    assert data.decisions["created_at"].is_monotonic_increasing
    assert (data.decisions["input.grade"] == "b").all() and (data.decisions["grade"] == "C").all()
    with pytest.raises(DataError, match="no table 'decisions'"):
        read_decisions(db, model=m)


def test_time_column_and_kinds(model, tmp_path):
    m, _ = model
    frame = pd.DataFrame(
        {"x1": [0.1, 0.2, 0.3], "grade": ["a", "b", "c"], "applied": ["2024-01-05", "2024-02-05", "2024-02-07"]}
    )
    with pytest.raises(DataError, match=r"no time column: none of \['created_at', 'decided_at'\]"):
        read_decisions(frame, model=m)
    with pytest.raises(DataError, match="column 'applied_on' is missing"):
        read_decisions(frame, model=m, time_column="applied_on")
    raw = read_decisions(frame, model=m, time_column="applied")
    assert raw.kind == "applications" and raw.frame["created_at"].dt.month.tolist() == [1, 2, 2]
    assert list(raw.frame.columns) == ["created_at", "input.x1", "input.grade", "input.applied"]
    data = load_monitoring_data(frame, m, time_column="applied")
    assert data.scored == 3 and data.decisions["score"].tolist() == pytest.approx(
        m.score_details(frame)["score"].tolist(), rel=1e-12
    )
    with pytest.raises(DataError, match="'applied' has 1 rows without a date"):
        read_decisions(frame.assign(applied=["2024-01-05", None, "2024-01-09"]), model=m, time_column="applied")
    with pytest.raises(ConfigError, match="kind must be one of"):
        read_decisions(frame, model=m, kind="csv")
    with pytest.raises(ConfigError, match="an audit store is a SQLite file"):
        read_decisions(tmp_path / "x.csv", model=m, kind="audit")


def test_a_decide_output_without_finances_and_a_custom_score_prefix(model, tmp_path, capsys):
    m, path = model
    decided = tmp_path / "d.json"
    decided.write_text(
        json.dumps(
            [
                {
                    "applicant_id": f"A{i}",
                    "decided_at": f"2024-03-0{1 + i % 5}T10:00:00+00:00",
                    "outcome": "approve",
                    "pd": 0.1,
                    "score": 560.0,
                    "grade": "C",
                    "reasons": [],
                    "warnings": [],
                    "application": {"x1": 0.5 * i, "grade": "c", "finances": None, "loan": None},
                }
                for i in range(20)
            ]
        )
    )
    data = load_monitoring_data(decided, m)
    assert data.kind == "decide" and data.time_column == "decided_at" and data.scored == 0
    assert "input.finances" not in data.decisions and (data.decisions["input.grade"] == "c").all()
    assert data.decisions["decision_id"].tolist() == [f"A{i}" for i in range(20)]  # outcomes name applicant ids
    src = tmp_path / "apps.csv"
    pd.DataFrame({"x1": np.linspace(-2, 2, 30), "grade": ["a", "b", "c"] * 10, "created_at": "2024-04-02"}).to_csv(
        src, index=False
    )
    scored = tmp_path / "scored.csv"
    assert (
        run(["score", "--model", str(path), "--input", str(src), "--output", str(scored), "--prefix", "s_"], capsys)[0]
        == 0
    )
    data = load_monitoring_data(scored, m)
    assert data.kind == "score" and data.scored == 0
    assert data.decisions["score"].tolist() == pd.read_csv(scored)["s_score"].tolist()
    assert not any(c.startswith("input.s_") for c in data.decisions.columns)


def test_monitor_reads_postgresql(pg_url, model, tmp_path, capsys):  # noqa: F811 - the fixture imported above
    """``lendscore monitor postgresql+psycopg://...`` reads the store as it reads the same store in SQLite."""
    m, path = model
    records = _records(m, n=300, seed=4)
    outcomes = [
        OutcomeRecord(
            r.decision_id,
            int(k % 5 == 0),
            T0 + dt.timedelta(days=200),
            "t",
            (r.created_at + dt.timedelta(days=90)).date(),
        )
        for k, r in enumerate(records)
    ]
    _sqlite_store(pg_url, records, outcomes)
    db = tmp_path / "same.db"
    _sqlite_store(f"sqlite:///{db}", records, outcomes)
    on_pg, on_sqlite = load_monitoring_data(pg_url, m), load_monitoring_data(db, m)
    pd.testing.assert_frame_equal(on_pg.decisions, on_sqlite.decisions)
    assert len(on_pg.outcomes) == len(outcomes)
    d = drift(on_pg.decisions, m, warnings=on_pg.warnings)
    assert set(d.characteristics["characteristic"]) == set(m.selected_features_)
    expected = m.input_warnings(pd.DataFrame([r.inputs["applicant"] for r in records]))
    assert d.warnings.groupby("field")["n"].sum().to_dict() == expected.groupby("field").size().to_dict()
    assert (expected.loc[expected["field"] == "grade", "value"] == "zz").all()
    assert (expected["field"] == "grade").sum() == sum(r.inputs["applicant"]["grade"] == "zz" for r in records)
    texts = []
    for source in (pg_url, str(db)):
        code, text = run(
            [
                "monitor",
                source,
                "--model",
                str(path),
                "--maturity",
                "1",
                "--as-of",
                "2025-01-01",
                "--out",
                str(tmp_path / "m.html"),
            ],
            capsys,
        )
        assert code == 0, text
        texts.append(flat(text).split("; wrote")[0])
    assert texts[0] == texts[1] and f"{len(records)} decisions (audit)" in texts[0]
    assert f"outcomes {len(outcomes)} accepted / 0 refused" in texts[0]

"""The audit store and the API on a real PostgreSQL server that this test starts itself.

Needs the PostgreSQL server binaries (Debian: ``apt-get install -y postgresql``) and the
``psycopg[binary]`` package. When they are missing the test FAILS (it never skips silently).
"""

from __future__ import annotations

import datetime as dt
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from lendscore.service.testing import (
    cached_demo_model,
    demo_keys,
    free_port,
    sample_applications,
    test_client,
    write_settings,
)

INSTALL = (
    "PostgreSQL server binaries not found: install them with `apt-get install -y postgresql` "
    "(initdb/pg_ctl in /usr/lib/postgresql/<version>/bin or on PATH) and `pip install 'psycopg[binary]'`"
)


def _bin(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if not found:
        pytest.fail(INSTALL)
    return found


def _as_postgres(cmd: list[str]) -> list[str]:
    """Root may not run the server: run it as the ``postgres`` user when we are root."""
    if os.geteuid() != 0:
        return cmd
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        pytest.fail(
            "running as root needs a 'postgres' system user (created by the Debian postgresql package); " + INSTALL
        )
    return ["runuser", "-u", "postgres", "--", *cmd]


@pytest.fixture(scope="module")
def pg_url(tmp_path_factory):
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.fail(INSTALL)
    initdb, pg_ctl = _bin("initdb"), _bin("pg_ctl")
    # a directory of its own under the system temp dir, so the postgres user can reach it
    base = Path(tempfile.mkdtemp(prefix="lendscore-pg-"))
    data, sock, log = base / "data", base / "sock", base / "pg.log"
    sock.mkdir()
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
        shutil.chown(sock, "postgres")
    port = free_port()
    for cmd in (
        [initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"],
        [
            pg_ctl,
            "-D",
            str(data),
            "-l",
            str(log),
            "-w",
            "-t",
            "60",
            "-o",
            f"-p {port} -k {sock} -c listen_addresses=127.0.0.1",
            "start",
        ],
    ):
        done = subprocess.run(_as_postgres(cmd), capture_output=True, text=True)
        if done.returncode != 0:
            pytest.fail(
                f"{' '.join(cmd[:1])} failed ({done.returncode}): {done.stderr[-2000:]}"
                + (log.read_text()[-2000:] if log.exists() else "")
            )
    url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    try:
        yield url
    finally:
        subprocess.run(_as_postgres([pg_ctl, "-D", str(data), "-m", "immediate", "stop"]), capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    return cached_demo_model(tmp_path_factory.getbasetemp())


def test_store_on_postgres(pg_url):
    from lendscore.service.audit import DecisionRecord, OutcomeRecord, new_id
    from lendscore.service.audit_sql import SqlAuditStore

    store = SqlAuditStore(pg_url)
    store.start()
    try:
        t0 = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
        recs = [
            DecisionRecord(
                decision_id=new_id(),
                request_id=f"r{i}",
                created_at=t0 + dt.timedelta(minutes=i),
                model_version="m",
                policy_version="p",
                outcome="refer",
                pd=0.1,
                score=550.0 + i,
                grade="F",
                inputs={"applicant": {"dti": float(i), "purpose": "car"}},
                result={"i": i},
                api_key_name="k",
                idempotency_key=f"pg-{i}",
            )
            for i in range(20)
        ]
        futures = [store.submit_decisions([r]) for r in recs]
        assert all(not f.result(timeout=30)[0].replayed for f in futures)
        assert store.submit_decisions([recs[3]]).result(timeout=30)[0].replayed
        store.submit_outcome(OutcomeRecord(recs[0].decision_id, 1, t0, "admin")).result(timeout=30)
        frame = store.decisions_frame(since=t0 + dt.timedelta(minutes=5))
        assert len(frame) == 15 and frame["dti"].min() == 5.0
        assert store.outcomes_frame()["defaulted"].tolist() == [1]
        assert store.get_decision(recs[7].decision_id).result == {"i": 7}
    finally:
        store.close()
    store2 = SqlAuditStore(pg_url)  # migrations already applied: starting again is a no-op
    store2.start()
    assert len(store2.decisions_frame()) == 20
    store2.close()


def test_api_on_postgres(pg_url, tmp_path, model_path):
    from lendscore.service import create_app, load_settings

    keys = demo_keys()
    settings = load_settings(
        write_settings(tmp_path / "s.toml", model=model_path, audit_url=pg_url, keys=keys), environ={}
    )
    apps = sample_applications(30, seed=7)
    app = create_app(settings)
    with test_client(app) as c:
        assert c.get("/readyz").status_code == 200
        r = c.post("/v1/decisions", json=apps[0], headers={"X-API-Key": keys["scorer"], "Idempotency-Key": "pg-api"})
        assert r.status_code == 200
        again = c.post(
            "/v1/decisions", json=apps[0], headers={"X-API-Key": keys["scorer"], "Idempotency-Key": "pg-api"}
        )
        assert again.json()["decision_id"] == r.json()["decision_id"]
        b = c.post("/v1/decisions/batch", json={"applications": apps[1:]}, headers={"X-API-Key": keys["scorer"]})
        assert b.status_code == 200 and len(b.json()["decisions"]) == 29
        got = c.get(f"/v1/decisions/{r.json()['decision_id']}", headers={"X-API-Key": keys["officer"]})
        assert got.json() == r.json()
        o = c.post(
            "/v1/outcomes",
            json={
                "decision_id": r.json()["decision_id"],
                "defaulted": False,
                "outcome_date": r.json()["created_at"][:10],
            },
            headers={"X-API-Key": keys["admin"]},
        )
        assert o.status_code == 201
        store = app.state.service.store
        assert store.decisions_frame()["decision_id"].nunique() >= 30

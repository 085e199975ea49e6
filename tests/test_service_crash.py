"""Crash test: SIGKILL the server under load; every decision answered 200 is in the audit store,
and nothing is half-written (SQLite integrity check, every stored row complete and parseable)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time

from lendscore.service.testing import (
    RawClient,
    ServerProcess,
    demo_keys,
    sample_applications,
    write_settings,
)


async def _load(server: ServerProcess, bodies: list[bytes], headers: dict, kill_after: float, max_seconds: float):
    """8 connections sending decisions (and small batches) until the server dies; returns the 200s."""
    answered: list[str] = []
    start = time.monotonic()

    async def worker(w: int) -> None:
        client = await RawClient("127.0.0.1", server.port).connect()
        i = w
        while time.monotonic() - start < max_seconds:  # bounded in time (the kill ends it earlier)
            i += 8
            try:
                if i % 16 == 0:
                    batch = b'{"applications":[' + b",".join(bodies[j % len(bodies)] for j in range(i, i + 5)) + b"]}"
                    status, data = await client.request("POST", "/v1/decisions/batch", batch, headers)
                    if status == 200:
                        answered.extend(d["decision_id"] for d in json.loads(data)["decisions"])
                else:
                    status, data = await client.request("POST", "/v1/decisions", bodies[i % len(bodies)], headers)
                    if status == 200:
                        answered.append(json.loads(data)["decision_id"])
            except (ConnectionError, OSError, asyncio.IncompleteReadError, ValueError):
                return  # the server is gone

    async def killer() -> None:
        await asyncio.sleep(kill_after)
        server.kill()

    await asyncio.gather(killer(), *(worker(w) for w in range(8)))
    return answered


def test_sigkill_under_load_loses_no_answered_decision(tmp_path, model_path):
    keys = demo_keys()
    db = tmp_path / "audit.db"
    settings = write_settings(
        tmp_path / "settings.toml", model=model_path, audit_url=f"sqlite:///{db}", keys=keys, log_level="WARNING"
    )
    bodies = [json.dumps(b).encode() for b in sample_applications(200, seed=11)]
    server = ServerProcess(settings, tmp_path / "server.log").start()
    try:
        answered = asyncio.run(_load(server, bodies, {"X-API-Key": keys["scorer"]}, kill_after=2.5, max_seconds=20))
    finally:
        server.kill()
    assert server.proc.returncode == -9
    assert len(answered) > 100, "the load did not get going before the kill"

    with sqlite3.connect(db) as conn:  # opening it recovers from the WAL like any reader would
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = conn.execute(
            "SELECT decision_id, request_id, created_at, model_version, policy_version, outcome, pd, "
            "score, inputs, result FROM decisions"
        ).fetchall()
    stored = {r[0] for r in rows}
    missing = set(answered) - stored
    assert not missing, f"{len(missing)} decisions answered 200 are not in the audit store"
    for r in rows:  # nothing half-written: every column present, JSON complete and consistent
        assert all(v is not None for v in r[:8])
        inputs, result = json.loads(r[8]), json.loads(r[9])
        assert result["decision_id"] == r[0] and result["outcome"] == r[5] and "applicant" in inputs
    batch_sizes = {}
    with sqlite3.connect(db) as conn:
        for batch_id, n in conn.execute(
            "SELECT batch_id, COUNT(*) FROM decisions WHERE batch_id IS NOT NULL GROUP BY batch_id"
        ):
            batch_sizes[batch_id] = n
    assert all(n == 5 for n in batch_sizes.values()), "a batch was stored in part"

    # the service restarts on the same store and serves the stored decisions
    again = ServerProcess(settings, tmp_path / "server2.log").start()
    try:
        import httpx

        r = httpx.get(f"{again.base_url}/v1/decisions/{answered[-1]}", headers={"X-API-Key": keys["officer"]})
        assert r.status_code == 200 and r.json()["decision_id"] == answered[-1]
    finally:
        again.stop()

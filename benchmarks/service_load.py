"""Load test of the decision service on loopback: p50/p99 latency and throughput.

Starts ``lendscore serve`` (uvicorn, one process, SQLite audit store in WAL mode) on a free
127.0.0.1 port and drives it with a low-overhead asyncio HTTP/1.1 client:

1. single decisions at a fixed offered rate (open loop, default 1,000/s for 5 s);
2. single decisions as fast as ``--concurrency`` keep-alive connections allow (closed loop);
3. batches of 1,000 applications, one after another;
4. phase 2 again while another client requests the admins' monitoring page in a loop (the page
   recomputed on every request: ``monitoring_cache_seconds = 0``, the worst case), against a run
   of phase 2 just before it, to see what monitoring costs the decision path;
5. when ``wrk`` is installed (``apt-get install wrk``), single decisions driven by wrk (C, one
   thread) at 4 and 8 keep-alive connections, 3 runs each: the Python client above needs a good
   part of a core at 1,000 requests/s, which on a 2-core machine it takes from the server.

Every loop is bounded in both count and time. At the end it checks that the audit store holds
every decision answered with 200, and nothing more than the requests wrk cut off in flight. Results are printed and written as JSON.

    python benchmarks/service_load.py [--model model.json] [--rate 1000] [--duration 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lendscore.service.testing import (
    RawClient,
    ServerProcess,
    demo_keys,
    sample_applications,
    train_demo_model,
    write_settings,
)

RESULTS = Path(__file__).parent / "results" / "service_load.json"


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q / 100 * (len(s) - 1))))]


def summary(latencies: list[float], seconds: float, n_ok: int, n_err: int) -> dict:
    ms = [x * 1000 for x in latencies]
    return {
        "requests_ok": n_ok,
        "requests_failed": n_err,
        "seconds": round(seconds, 3),
        "throughput_per_s": round(n_ok / seconds, 1) if seconds else None,
        "p50_ms": round(pct(ms, 50), 3),
        "p90_ms": round(pct(ms, 90), 3),
        "p99_ms": round(pct(ms, 99), 3),
        "max_ms": round(max(ms), 3) if ms else None,
        "mean_ms": round(statistics.fmean(ms), 3) if ms else None,
    }


async def open_loop(
    port: int, bodies: list[bytes], headers: dict, rate: float, duration: float, connections: int
) -> dict:
    """Offer ``rate`` requests/s for ``duration`` s over a pool of keep-alive connections."""
    n = int(rate * duration)
    pool: asyncio.Queue = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(await RawClient("127.0.0.1", port).connect())
    lat, errors = [], 0
    start = time.perf_counter()

    async def one(i: int) -> None:
        nonlocal errors
        client = await pool.get()
        t0 = time.perf_counter()
        try:
            status, _ = await client.request("POST", "/v1/decisions", bodies[i % len(bodies)], headers)
        except (ConnectionError, OSError, asyncio.IncompleteReadError):
            status = 0
            client = RawClient("127.0.0.1", port)
        (lat.append(time.perf_counter() - t0) if status == 200 else None)
        errors += status != 200
        pool.put_nowait(client)

    tasks = []
    for i in range(n):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if time.perf_counter() - start > duration * 3:  # hard time bound
            break
        tasks.append(asyncio.create_task(one(i)))
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=60)
    elapsed = time.perf_counter() - start
    while not pool.empty():
        await pool.get_nowait().close()
    return {"offered_rate_per_s": rate, "connections": connections, **summary(lat, elapsed, len(lat), errors)}


async def closed_loop(
    port: int, bodies: list[bytes], headers: dict, concurrency: int, duration: float, max_requests: int
) -> dict:
    lat, errors, sent = [], 0, 0
    start = time.perf_counter()

    async def worker(w: int) -> None:
        nonlocal errors, sent
        client = await RawClient("127.0.0.1", port).connect()
        while time.perf_counter() - start < duration and sent < max_requests:
            sent += 1
            t0 = time.perf_counter()
            status, _ = await client.request("POST", "/v1/decisions", bodies[(sent * 7 + w) % len(bodies)], headers)
            if status == 200:
                lat.append(time.perf_counter() - t0)
            else:
                errors += 1
        await client.close()

    await asyncio.wait_for(asyncio.gather(*(worker(w) for w in range(concurrency))), timeout=duration + 60)
    return {"concurrency": concurrency, **summary(lat, time.perf_counter() - start, len(lat), errors)}


async def monitoring_loop(port: int, headers: dict, stop: asyncio.Event, max_requests: int) -> dict:
    """GET /ui/monitoring one after another until ``stop`` is set (bounded by ``max_requests``)."""
    client = await RawClient("127.0.0.1", port).connect()
    lat, errors = [], 0
    start = time.perf_counter()
    while not stop.is_set() and len(lat) + errors < max_requests:
        t0 = time.perf_counter()
        status, _ = await client.request("GET", "/ui/monitoring", b"", headers)
        if status == 200:
            lat.append(time.perf_counter() - t0)
        else:
            errors += 1
    await client.close()
    return summary(lat, time.perf_counter() - start, len(lat), errors)


async def closed_loop_with_monitoring(
    port: int, bodies: list[bytes], headers: dict, admin: dict, concurrency: int, duration: float, max_requests: int
) -> dict:
    stop = asyncio.Event()
    monitor = asyncio.create_task(monitoring_loop(port, admin, stop, 10_000))
    await asyncio.sleep(0.5)  # let the first computation start
    decisions = await closed_loop(port, bodies, headers, concurrency, duration, max_requests)
    stop.set()
    page = await asyncio.wait_for(monitor, timeout=120)
    return {**decisions, "monitoring_page": page}


async def batches(port: int, body: bytes, headers: dict, count: int, max_seconds: float) -> dict:
    client = await RawClient("127.0.0.1", port).connect()
    lat, errors = [], 0
    start = time.perf_counter()
    for _ in range(count):
        if time.perf_counter() - start > max_seconds:
            break
        t0 = time.perf_counter()
        status, _ = await client.request("POST", "/v1/decisions/batch", body, headers)
        if status == 200:
            lat.append(time.perf_counter() - t0)
        else:
            errors += 1
    await client.close()
    out = summary(lat, time.perf_counter() - start, len(lat), errors)
    out["applications_per_batch"] = 1000
    out["applications_per_s"] = round(out["requests_ok"] * 1000 / out["seconds"], 1) if out["seconds"] else None
    return out


_WRK_SCRIPT = """
local bodies = {}
for line in io.lines("%(bodies)s") do bodies[#bodies + 1] = line end
local i = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-API-Key"] = "%(key)s"
request = function()
  i = i + 1
  return wrk.format(nil, "/v1/decisions", nil, bodies[(i %% #bodies) + 1])
end
"""
_UNIT_MS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def wrk_runs(
    port: int, bodies: list[bytes], key: str, tmp: Path, connections: tuple[int, ...], seconds: float, runs: int
) -> dict | None:
    """Single decisions driven by wrk: per connection count, each run's throughput, p50, p99 and
    non-2xx count, and their medians (None when wrk is not installed)."""
    if shutil.which("wrk") is None:
        return None
    (tmp / "bodies.jsonl").write_bytes(b"\n".join(bodies) + b"\n")
    script = tmp / "post.lua"
    script.write_text(_WRK_SCRIPT % {"bodies": tmp / "bodies.jsonl", "key": key})

    def ms(text: str, pct: str) -> float:
        value, unit = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", text, re.M).groups()
        return float(value) * _UNIT_MS[unit]

    out = {}
    for c in connections:
        rows = []
        for _ in range(runs):
            text = subprocess.run(
                ["wrk", "-t1", f"-c{c}", f"-d{seconds:g}s", "--latency", "-s", str(script), f"http://127.0.0.1:{port}"],
                capture_output=True,
                text=True,
                timeout=seconds + 60,
                check=True,
            ).stdout
            non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
            errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
            rows.append(
                {
                    "requests": int(re.search(r"(\d+) requests in", text).group(1)),
                    "throughput_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)),
                    "p50_ms": ms(text, "50"),
                    "p90_ms": ms(text, "90"),
                    "p99_ms": ms(text, "99"),
                    "non_2xx": int(non2xx.group(1)) if non2xx else 0,
                    "socket_errors": sum(map(int, errors.groups())) if errors else 0,
                }
            )
        out[f"{c}_connections"] = {
            "runs": rows,
            **{
                f"median_{k}": round(statistics.median(r[k] for r in rows), 3)
                for k in ("throughput_per_s", "p50_ms", "p99_ms")
            },
        }
    return out


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, help="model JSON (default: train one on the bundled data)")
    ap.add_argument("--rate", type=float, default=1000.0, help="offered single-decision rate, per second")
    ap.add_argument("--duration", type=float, default=5.0, help="seconds per single-decision phase")
    ap.add_argument("--connections", type=int, default=32, help="connection pool of the open-loop phase")
    ap.add_argument("--concurrency", type=int, default=8, help="connections of the closed-loop phase")
    ap.add_argument("--batches", type=int, default=20, help="batches of 1,000 to send")
    ap.add_argument("--synchronous", choices=["FULL", "NORMAL"], default="FULL", help="SQLite synchronous level")
    ap.add_argument("--output", type=Path, default=RESULTS)
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="lendscore-load-") as tmp:
        tmp = Path(tmp)
        model = args.model or train_demo_model(tmp / "model.json")
        keys = demo_keys()
        db = tmp / "audit.db"
        settings = write_settings(
            tmp / "settings.toml",
            model=model,
            audit_url=f"sqlite:///{db}",
            keys=keys,
            sqlite_synchronous=args.synchronous,
            log_level="WARNING",
            monitoring_cache_seconds=0,
        )
        apps = sample_applications(2000, seed=1)
        bodies = [json.dumps(a).encode() for a in apps]
        batch_body = json.dumps({"applications": apps[:1000]}).encode()
        headers = {"X-API-Key": keys["scorer"]}
        server = ServerProcess(settings, tmp / "server.log").start()
        try:
            warm = asyncio.run(closed_loop(server.port, bodies, headers, 4, 1.0, 500))  # warm-up
            single_open = asyncio.run(
                open_loop(server.port, bodies, headers, args.rate, args.duration, args.connections)
            )
            single_closed = asyncio.run(
                closed_loop(server.port, bodies, headers, args.concurrency, args.duration, int(args.duration * 20000))
            )
            batch = asyncio.run(batches(server.port, batch_body, headers, args.batches, 60.0))
            quiet = asyncio.run(
                closed_loop(server.port, bodies, headers, args.concurrency, args.duration, int(args.duration * 20000))
            )
            busy = asyncio.run(
                closed_loop_with_monitoring(
                    server.port,
                    bodies,
                    headers,
                    {"X-API-Key": keys["admin"]},
                    args.concurrency,
                    args.duration,
                    int(args.duration * 20000),
                )
            )
            wrk = wrk_runs(server.port, bodies, keys["scorer"], tmp, (4, 8), args.duration, 3)
        finally:
            server.stop()
        with sqlite3.connect(db) as conn:
            stored = conn.execute("SELECT COUNT(*) FROM decisions").fetchone()[0]
        result = {
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
            "audit_store": f"SQLite WAL, synchronous={args.synchronous}, group commit",
            "single_open_loop": single_open,
            "single_closed_loop": single_closed,
            "batch_1000": batch,
            "monitoring_off": quiet,
            "monitoring_running": busy,
            "monitoring_p50_ratio": round(busy["p50_ms"] / quiet["p50_ms"], 3),
            "monitoring_p99_ratio": round(busy["p99_ms"] / quiet["p99_ms"], 3),
            "monitoring_throughput_ratio": round(busy["throughput_per_s"] / quiet["throughput_per_s"], 3),
            "single_wrk": wrk,
            "audit_rows": stored,
            "stored_not_answered_limit": sum(int(c.split("_")[0]) * len(v["runs"]) for c, v in (wrk or {}).items()),
            "answered_200": warm["requests_ok"]
            + single_open["requests_ok"]
            + single_closed["requests_ok"]
            + 1000 * batch["requests_ok"]
            + quiet["requests_ok"]
            + busy["requests_ok"]
            + sum(r["requests"] - r["non_2xx"] for v in (wrk or {}).values() for r in v["runs"]),
        }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    # wrk stops on the clock with up to one request per connection in flight: those are stored
    # (committed before their answer) but never counted as answered
    in_flight = sum(int(c.split("_")[0]) * len(v["runs"]) for c, v in (wrk or {}).items())
    if not result["answered_200"] <= result["audit_rows"] <= result["answered_200"] + in_flight:
        print(
            f"MISMATCH: {result['answered_200']} answered 200, {result['audit_rows']} stored "
            f"(at most {in_flight} cut off in flight)",
            file=sys.stderr,
        )
        return {}
    return result


if __name__ == "__main__":
    sys.exit(0 if main() else 1)

"""Scaling table of issue 12: fit time and peak RSS against rows, in memory and out of core.

Each fit runs in a fresh child process; the parent takes the child's peak RSS from ``os.wait4``
(the kernel's ``ru_maxrss`` of that child) and the child reports its wall time and, out of core,
the seconds of each pass (``stream_seconds_``). The load average is printed beside each run: the
machine may be shared. Data come from ``make_big_parquet.py`` (Give Me Some Credit resampled
with jitter, seed 42).

    python benchmarks/scaling.py --rows 150000 1500000 15000000 50000000 --memory-max 1500000 \
        --dir /tmp/scaling --repeat 3 [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

TARGET = "SeriousDlqin2yrs"

CHILD = r"""
import json, sys, time
path, mode = sys.argv[1], sys.argv[2]
t0 = time.perf_counter()
if mode == "in-memory":
    import pandas as pd
    from lendscore import Scorecard
    df = pd.read_parquet(path)
    y = df.pop("SeriousDlqin2yrs").to_numpy()
    m = Scorecard().fit(df, y)
    extra = {}
else:
    from lendscore.outofcore import fit_parquet
    m = fit_parquet(path, target="SeriousDlqin2yrs")
    extra = {"patterns": int(m.n_patterns_), "stages": m.stream_seconds_}
print(json.dumps({"fit_s": time.perf_counter() - t0, "rules": len(m.rules_), **extra}))
"""


def run_child(path: Path, mode: str) -> dict:
    """One fit in a fresh process: its result, with the child's own peak RSS (MB) from wait4."""
    load = os.getloadavg()[0]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen([sys.executable, "-c", CHILD, str(path), mode], stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)  # reaps the child: its own rusage, not the largest child's
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode:
            raise RuntimeError(f"{mode} fit of {path.name} failed: {err.read().strip().splitlines()[-1]}")
        r = json.loads(out.read().strip().splitlines()[-1])
    return {**r, "peak_rss_mb": usage.ru_maxrss / 1024, "load": load}


def main() -> None:
    here = Path(__file__).resolve().parent
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, nargs="+", default=[150_000, 1_500_000, 15_000_000, 50_000_000])
    ap.add_argument("--memory-max", type=int, default=1_500_000, help="largest row count also fitted in memory")
    ap.add_argument("--dir", type=Path, required=True)
    ap.add_argument("--repeat", type=int, default=1, help="runs per row count and path (medians shown)")
    ap.add_argument("--keep", action="store_true", help="keep the generated files")
    args = ap.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    print("| rows | path | fit s (median) | runs s | peak RSS MB (max) | stages s (median run) | load avg |")
    print("|---:|---|---:|---|---:|---|---|")
    for n in args.rows:
        path = args.dir / f"gmsc_{n}.parquet"
        if not path.exists():
            subprocess.run(
                [sys.executable, str(here / "make_big_parquet.py"), "--rows", str(n), "--out", str(path)], check=True
            )
        modes = (["in-memory"] if n <= args.memory_max else []) + ["out-of-core"]
        for mode in modes:
            try:
                runs = [run_child(path, mode) for _ in range(args.repeat)]
            except RuntimeError as exc:
                print(f"| {n:,} | {mode} | failed | {exc} | | | |", flush=True)
                continue
            times = [r["fit_s"] for r in runs]
            mid = sorted(runs, key=lambda r: r["fit_s"])[len(runs) // 2]
            note = f" ({mid['patterns']:,} patterns)" if "patterns" in mid else ""
            stages = ", ".join(f"{k} {v:.1f}" for k, v in mid.get("stages", {}).items())
            runs_s = ", ".join(f"{t:.1f}" for t in times)
            loads = ", ".join(f"{r['load']:.1f}" for r in runs)
            print(
                f"| {n:,} | {mode}{note} | {statistics.median(times):.1f} | {runs_s} "
                f"| {max(r['peak_rss_mb'] for r in runs):,.0f} | {stages} | {loads} |",
                flush=True,
            )
        if not args.keep:
            path.unlink()


if __name__ == "__main__":
    main()

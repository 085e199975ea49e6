"""Scaling table of issue 12: fit time and peak RSS against rows, in memory and out of core.

Each fit runs in a fresh child process that reports its own wall time and peak RSS
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``), so runs do not share memory. Data come from
``make_big_parquet.py`` (Give Me Some Credit resampled with jitter, seed 42).

    python benchmarks/scaling.py --rows 150000 1500000 15000000 50000000 --memory-max 1500000 \
        --dir /tmp/scaling [--keep]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

TARGET = "SeriousDlqin2yrs"

CHILD = r"""
import json, resource, sys, time
path, mode = sys.argv[1], sys.argv[2]
t0 = time.perf_counter()
if mode == "memory":
    import pandas as pd
    from lendscore import Scorecard
    df = pd.read_parquet(path)
    y = df.pop("SeriousDlqin2yrs").to_numpy()
    m = Scorecard().fit(df, y)
    extra = {}
else:
    from lendscore.outofcore import fit_parquet
    m = fit_parquet(path, target="SeriousDlqin2yrs")
    extra = {"patterns": int(m.n_patterns_)}
secs = time.perf_counter() - t0
print(json.dumps({"fit_s": secs, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "rules": len(m.rules_), **extra}))
"""


def main() -> None:
    here = Path(__file__).resolve().parent
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, nargs="+", default=[150_000, 1_500_000, 15_000_000, 50_000_000])
    ap.add_argument("--memory-max", type=int, default=1_500_000, help="largest row count also fitted in memory")
    ap.add_argument("--dir", type=Path, required=True)
    ap.add_argument("--keep", action="store_true", help="keep the generated files")
    args = ap.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    print("| rows | path | fit s | peak RSS MB |")
    print("|---:|---|---:|---:|")
    for n in args.rows:
        path = args.dir / f"gmsc_{n}.parquet"
        if not path.exists():
            subprocess.run(
                [sys.executable, str(here / "make_big_parquet.py"), "--rows", str(n), "--out", str(path)], check=True
            )
        modes = (["memory"] if n <= args.memory_max else []) + ["out-of-core"]
        for mode in modes:
            res = subprocess.run([sys.executable, "-c", CHILD, str(path), mode], capture_output=True, text=True)
            if res.returncode:
                print(f"| {n:,} | {mode} | failed | {res.stderr.strip().splitlines()[-1]} |", flush=True)
                continue
            r = json.loads(res.stdout.strip().splitlines()[-1])
            note = f" ({r['patterns']:,} patterns)" if "patterns" in r else ""
            print(f"| {n:,} | {mode}{note} | {r['fit_s']:.1f} | {r['peak_rss_mb']:,.0f} |", flush=True)
        if not args.keep:
            path.unlink()


if __name__ == "__main__":
    main()

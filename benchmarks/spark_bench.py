"""Spark rows of issue 12's scaling table: lendscore.spark.fit time and peak RSS on local[2], and
scoring rows per second through Spark SQL beside Python's score_details in the same run.

Data come from ``make_big_parquet.py`` (Give Me Some Credit resampled with jitter, seed 42). Each
row count runs in a fresh child process; peak RSS is the child's own (Python driver, ``ru_maxrss``)
plus the Spark JVM's high-water mark (``VmHWM`` of every process under the child, read before the
session stops): in local mode the JVM is the driver and both executors.

    python benchmarks/spark_bench.py --rows 150000 1500000 --dir /tmp/scaling [--driver-memory 4g]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

TARGET = "SeriousDlqin2yrs"

PEER = r"""
import json, sys, time
import pandas as pd
from lendscore import Scorecard
t0 = time.perf_counter()
df = pd.read_parquet(sys.argv[1])
y = df.pop("SeriousDlqin2yrs").to_numpy()
Scorecard().fit(df, y)
print(json.dumps({"fit_s": time.perf_counter() - t0}))
"""

CHILD = r"""
import json, os, resource, sys, time, warnings
warnings.filterwarnings("ignore", category=FutureWarning)
path, memory = sys.argv[1], sys.argv[2]
from lendscore import spark as ls

def tree_hwm_mb(root):
    # VmHWM (peak RSS) of every process below root: the JVM that spark-submit started
    kids = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as fh:
                kids.setdefault(int(fh.read().rsplit(")", 1)[1].split()[1]), []).append(int(pid))
        except OSError:
            pass
    total, todo = 0.0, list(kids.get(root, []))
    while todo:
        pid = todo.pop()
        todo += kids.get(pid, [])
        try:
            with open(f"/proc/{pid}/status") as fh:
                total += next(int(l.split()[1]) for l in fh if l.startswith("VmHWM")) / 1024
        except (OSError, StopIteration):
            pass
    return total

spark = ls.local_session("local[2]", {"spark.driver.memory": memory, "spark.sql.shuffle.partitions": "4"})
df = spark.read.parquet(path)
n = df.count()
t0 = time.perf_counter()
model = ls.fit(df, "SeriousDlqin2yrs")
fit_s = time.perf_counter() - t0
rows = df.drop("SeriousDlqin2yrs")
t0 = time.perf_counter()
ls.score(rows, model).write.format("noop").mode("overwrite").save()
spark_score_s = time.perf_counter() - t0
jvm_mb = tree_hwm_mb(os.getpid())
driver_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
spark.stop()
import pandas as pd
frame = pd.read_parquet(path).drop(columns=["SeriousDlqin2yrs"])
t0 = time.perf_counter()
model.score_details(frame)
python_score_s = time.perf_counter() - t0
print(json.dumps({
    "rows": n, "fit_s": fit_s, "stages": model.spark_seconds_, "patterns": model.n_patterns_, "rules": len(model.rules_),
    "jvm_peak_mb": jvm_mb, "driver_peak_mb": driver_mb,
    "spark_score_rows_s": n / spark_score_s, "python_score_rows_s": n / python_score_s,
}))
"""


def run(code: str, *argv: str) -> tuple[dict, float]:
    """A child's last JSON line and its own peak RSS in MB (``os.wait4``)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen([sys.executable, "-c", code, *argv], stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        out.seek(0)
        err.seek(0)
        if os.waitstatus_to_exitcode(status):
            raise SystemExit(f"child failed:\n{err.read()[-3000:]}")
        return json.loads(out.read().strip().splitlines()[-1]), usage.ru_maxrss / 1024


def main() -> None:
    here = Path(__file__).resolve().parent
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, nargs="+", default=[150_000, 1_500_000])
    ap.add_argument("--dir", type=Path, required=True)
    ap.add_argument("--driver-memory", default="4g", help="spark.driver.memory (local mode: the whole JVM heap)")
    args = ap.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    print(
        "| rows | path | fit s | peak RSS MB (JVM + Python driver) | patterns | stages s |"
        " in-memory peer (same run) | score rows/s Spark | Python | load avg |"
    )
    print("|---:|---|---:|---:|---:|---|---|---:|---:|---|")
    for n in args.rows:
        path = args.dir / f"gmsc_{n}.parquet"
        if not path.exists():
            subprocess.run(
                [sys.executable, str(here / "make_big_parquet.py"), "--rows", str(n), "--out", str(path)], check=True
            )
        load = os.getloadavg()[0]
        peer, peer_mb = run(PEER, str(path))
        r, _ = run(CHILD, str(path), args.driver_memory)
        stages = ", ".join(f"{k} {v:.1f}" for k, v in r["stages"].items())
        print(
            f"| {r['rows']:,} | Spark local[2] | {r['fit_s']:.1f} | {r['jvm_peak_mb'] + r['driver_peak_mb']:,.0f}"
            f" ({r['jvm_peak_mb']:,.0f} + {r['driver_peak_mb']:,.0f}) | {r['patterns']:,} | {stages} |"
            f" {peer['fit_s']:.1f} s, {peer_mb:,.0f} MB |"
            f" {r['spark_score_rows_s']:,.0f} | {r['python_score_rows_s']:,.0f} | {load:.1f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()

"""Speed and memory of lendscore's scoring paths (run: python benchmarks/speed.py [--rows 10000000]).

1. one applicant from a Python dict (``Scorecard.predict_one``): median latency, for a prepared row
   and for a raw Lending Club application through the model file's declared derivation;
2. a DataFrame (``predict_proba``): rows per second, median of repeats;
3. ``lendscore score`` on a large Parquet file (default 10 million rows, built by repeating the
   bundled Lending Club applications): wall time and peak RSS of the scoring process.

Timings on a shared 2-core machine vary; the script reports medians. Results go to
benchmarks/results/speed.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import lendscore
from lendscore.data import get_profile, load_bundled, prepare

ROOT = Path(__file__).resolve().parents[1]


def _model_and_test():
    """The same scorecard twice: fitted on prepared columns only, and with the profile's declared
    derivation (what `lendscore train --profile` writes), with the 2011 rows prepared and raw."""
    profile = get_profile("lending_club_2007_2011")
    raw = load_bundled("lending_club")
    X, y, when, _ = prepare(raw, profile)
    train = (when < "2011-01-01").to_numpy()
    model = lendscore.Scorecard().fit(X[train], y.to_numpy()[train])
    derived = lendscore.Scorecard().fit(X[train], y.to_numpy()[train], inputs=profile)
    raw_test = raw.loc[X.index[~train]].drop(columns=[profile.target]).reset_index(drop=True)
    return model, X[~train].reset_index(drop=True), derived, raw_test


def one_applicant_latency(model, rows: list[dict], n_batches: int = 30, per_batch: int = 1000) -> dict:
    per_call = []
    for b in range(n_batches):
        batch = rows[(b * per_batch) % len(rows) :][:per_batch] or rows[:per_batch]
        t0 = time.perf_counter_ns()
        for r in batch:
            model.predict_one(r)
        per_call.append((time.perf_counter_ns() - t0) / len(batch) / 1000.0)
    return {
        "median_us": statistics.median(per_call),
        "p90_us": float(np.percentile(per_call, 90)),
        "calls": n_batches * per_batch,
    }


def dataframe_rows_per_second(model, X: pd.DataFrame, repeats: int = 7) -> dict:
    rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        model.predict_proba(X)
        rates.append(len(X) / (time.perf_counter() - t0))
    return {"median_rows_per_s": statistics.median(rates), "rows": len(X)}


def big_file(model_path: Path, X: pd.DataFrame, rows: int, workdir: Path) -> dict:
    import pyarrow as pa
    import pyarrow.parquet as pq

    src = workdir / "applicants.parquet"
    table = pa.Table.from_pandas(X, preserve_index=False)
    with pq.ParquetWriter(src, table.schema) as w:
        done = 0
        while done < rows:
            part = table.slice(0, min(len(X), rows - done))
            w.write_table(part)
            done += len(part)
    out = workdir / "scored.parquet"
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "lendscore",
            "score",
            "--model",
            str(model_path),
            "--input",
            str(src),
            "--output",
            str(out),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    wall = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    n_out = pq.ParquetFile(out).metadata.num_rows
    return {
        "rows": rows,
        "rows_written": n_out,
        "wall_s": wall,
        "rows_per_s": rows / wall,
        "peak_rss_mb": peak_mb,
        "peak_rss_mb_before": before / 1024.0,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "speed.json")
    args = ap.parse_args()
    model, X, derived, raw = _model_and_test()
    rows = X.to_dict(orient="records")
    raw_rows = [{k: v for k, v in r.items() if v == v} for r in raw.to_dict(orient="records")]
    res = {
        "python": platform.python_version(),
        "pandas": pd.__version__,
        "numpy": np.__version__,
        "lendscore": lendscore.__version__,
        "machine": platform.machine(),
        "one_applicant_dict": one_applicant_latency(model, rows),
        "one_raw_applicant_dict_derived": one_applicant_latency(derived, raw_rows, n_batches=10),
        "dataframe": dataframe_rows_per_second(model, X),
        "raw_dataframe_derived": dataframe_rows_per_second(derived, raw),
    }
    print(json.dumps(res, indent=1))
    with tempfile.TemporaryDirectory() as tmp:
        model.save(Path(tmp) / "model.json")
        res["score_parquet"] = big_file(Path(tmp) / "model.json", X, args.rows, Path(tmp))
        derived.save(Path(tmp) / "derived.json")
        res["score_parquet_raw_derived"] = big_file(Path(tmp) / "derived.json", raw, args.rows, Path(tmp))
    print(json.dumps({k: res[k] for k in ("score_parquet", "score_parquet_raw_derived")}, indent=1))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=1) + "\n")


if __name__ == "__main__":
    main()

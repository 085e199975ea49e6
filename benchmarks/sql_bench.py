"""SQL scoring speed (issue 12): the exported query on DuckDB against Python's ``score_details``.

Run: ``python benchmarks/sql_bench.py [--rows 1000000] [--repeats 3]``. Both score the same raw
Lending Club applicant rows (the bundled rows resampled with replacement, seeded; ``installment``
dropped in a third of them so that the instalment is amortised; some ``revol_util`` missing), the
model file's derivation included. The two are timed interleaved in one process, best of
``--repeats``, and their scores are compared (largest absolute difference). Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import duckdb
import numpy as np
import pandas as pd

import lendscore
from lendscore import Scorecard
from lendscore.data import get_profile, load_bundled, prepare


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    profile = get_profile("lending_club_2007_2011")
    raw = load_bundled("lending_club")
    X, y, when, _ = prepare(raw, profile)
    train = (when < pd.Timestamp("2011-01-01")).to_numpy()
    model = Scorecard().fit(X[train], y[train], inputs=profile)

    rng = np.random.default_rng(12)
    frame = raw.iloc[rng.integers(0, len(raw), args.rows)].reset_index(drop=True)
    frame["installment"] = frame["installment"].where(np.arange(args.rows) % 3 != 0)
    frame["revol_util"] = frame["revol_util"].where(np.arange(args.rows) % 97 != 5)
    frame["app_id"] = np.arange(args.rows)

    con = duckdb.connect()
    con.execute("SET threads = 2")
    con.register("frame", frame)
    con.execute("CREATE TABLE applicants AS SELECT * FROM frame")  # a warehouse table, not a view of pandas
    sql = model.to_sql("applicants", dialect="duckdb", id_column="app_id")

    sql_s, db_s, py_s = [], [], []
    for _ in range(args.repeats):
        t = time.perf_counter()
        got = con.execute(sql).df()  # the scores fetched into pandas
        sql_s.append(time.perf_counter() - t)
        t = time.perf_counter()
        con.execute(f"CREATE OR REPLACE TABLE scores AS {sql}")  # the scores kept in the database
        db_s.append(time.perf_counter() - t)
        t = time.perf_counter()
        ref = model.score_details(frame)
        py_s.append(time.perf_counter() - t)
    got = got.sort_values("app_id").reset_index(drop=True)
    gap = float(np.max(np.abs(got["score"].to_numpy() - ref["score"].to_numpy())))
    print(
        json.dumps(
            {
                "rows": args.rows,
                "duckdb_sql_s": round(min(sql_s), 3),
                "duckdb_sql_into_table_s": round(min(db_s), 3),
                "python_score_details_s": round(min(py_s), 3),
                "duckdb_rows_per_s": round(args.rows / min(sql_s)),
                "duckdb_into_table_rows_per_s": round(args.rows / min(db_s)),
                "python_rows_per_s": round(args.rows / min(py_s)),
                "max_abs_score_gap": gap,
                "duckdb": duckdb.__version__,
                "lendscore": lendscore.__version__,
                "python": platform.python_version(),
            }
        )
    )


if __name__ == "__main__":
    main()

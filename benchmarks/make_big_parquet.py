"""Write an N-row Parquet file resampled from Give Me Some Credit (issue 12's scaling data).

Rows are drawn with replacement (seed 42), 1 million at a time, and three continuous columns get
1 % multiplicative jitter (utilisation, debt ratio, monthly income) so patterns keep growing with
rows as real data do; the file is written chunk by chunk and never held whole.

    python benchmarks/make_big_parquet.py --rows 50000000 --out /tmp/gmsc_50m.parquet \
        [--source ../shared/data/give_me_some_credit_cs_training.csv.gz]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

JITTER = ("RevolvingUtilizationOfUnsecuredLines", "DebtRatio", "MonthlyIncome")
CHUNK = 1_000_000


def main() -> None:
    here = Path(__file__).resolve().parent
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument(
        "--source", type=Path, default=here.parent.parent / "shared/data/give_me_some_credit_cs_training.csv.gz"
    )
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()
    base = pd.read_csv(args.source).drop(columns=["Unnamed: 0"], errors="ignore")
    rng = np.random.default_rng(args.seed)
    table = pa.Table.from_pandas(base, preserve_index=False)
    with pq.ParquetWriter(args.out, table.schema, compression="snappy") as writer:
        done = 0
        while done < args.rows:
            k = min(CHUNK, args.rows - done)
            chunk = base.iloc[rng.integers(0, len(base), k)].reset_index(drop=True)
            for c in JITTER:
                chunk[c] = chunk[c] * (1.0 + 0.01 * rng.standard_normal(k))
            writer.write_table(pa.Table.from_pandas(chunk, schema=table.schema, preserve_index=False))
            done += k
    print(f"wrote {args.rows:,} rows to {args.out}")


if __name__ == "__main__":
    main()

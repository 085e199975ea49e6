"""Regenerate the data files shipped inside the package (``src/lendscore/data/_files/``).

Reads the team's copies in ``../shared/data`` (relative to the repository root) and writes:

- ``lending_club_2007_2011_application.csv.gz``: Lending Club 2007-2011 with only the columns known
  at application time, plus ``loan_status`` (the outcome) and ``issue_d`` (the application date).
  Every row is kept (including the "Does not meet the credit policy" statuses); the dataset profile
  decides which rows are modelled.
- ``german_credit.csv.gz`` and ``credit_scoring_belanche.csv.gz``: unchanged re-compressed copies.

Files are written with gzip level 9 and ``mtime=0`` so that re-running the script is byte-stable.

Usage (from the repository root)::

    python scripts/make_bundled_data.py [--source ../shared/data]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = REPO_ROOT.parent / "shared" / "data"
TARGET_DIR = REPO_ROOT / "src" / "lendscore" / "data" / "_files"
GZIP = {"method": "gzip", "compresslevel": 9, "mtime": 0}

#: Lending Club columns kept: the outcome, the application date and what is known at application.
LC_KEEP = [
    "loan_status",
    "issue_d",
    "earliest_cr_line",
    "loan_amnt",
    "term",
    "int_rate",
    "installment",
    "grade",
    "sub_grade",
    "emp_length",
    "home_ownership",
    "annual_inc",
    "verification_status",
    "purpose",
    "addr_state",
    "dti",
    "delinq_2yrs",
    "inq_last_6mths",
    "mths_since_last_delinq",
    "mths_since_last_record",
    "open_acc",
    "pub_rec",
    "revol_bal",
    "revol_util",
    "total_acc",
    "collections_12_mths_ex_med",
    "mths_since_last_major_derog",
    "chargeoff_within_12_mths",
    "pub_rec_bankruptcies",
    "tax_liens",
    "acc_now_delinq",
    "delinq_amnt",
]


def make_lending_club(source: Path) -> Path:
    """Write the application-time copy of Lending Club 2007-2011; return its path."""
    raw = pd.read_csv(source / "lending_club_2007_2011.csv.gz", low_memory=False)
    keep = [c for c in LC_KEEP if c in raw.columns]
    out = TARGET_DIR / "lending_club_2007_2011_application.csv.gz"
    raw[keep].to_csv(out, index=False, compression=GZIP)
    return out


def copy_recompressed(source: Path, name: str) -> Path:
    """Re-compress one CSV unchanged; return its path."""
    out = TARGET_DIR / name
    pd.read_csv(source / name).to_csv(out, index=False, compression=GZIP)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    args = parser.parse_args()
    TARGET_DIR.mkdir(parents=True, exist_ok=True)
    written = [
        make_lending_club(args.source),
        copy_recompressed(args.source, "german_credit.csv.gz"),
        copy_recompressed(args.source, "credit_scoring_belanche.csv.gz"),
    ]
    for path in written:
        print(f"{path.relative_to(REPO_ROOT)}: {path.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()

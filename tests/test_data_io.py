"""Reading tables: every source gives the same frame as the CSV; errors name the file."""

from __future__ import annotations

import os
import subprocess
import sys

import pandas as pd
import pytest

from lendscore.data import (
    BUNDLED,
    bundled_path,
    count_rows,
    iter_batches,
    load_bundled,
    read_table,
)
from lendscore.errors import ConfigError, DataError, SchemaError

N_SAMPLE = 2_000


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    return load_bundled("lending_club").head(N_SAMPLE)


@pytest.fixture(scope="module")
def files(sample, tmp_path_factory):
    """The same rows as CSV, CSV.gz, Parquet, a DuckDB file and SQLite files."""
    import duckdb
    import sqlalchemy as sa

    d = tmp_path_factory.mktemp("io")
    sample.to_csv(d / "loans.csv", index=False)
    sample.to_csv(d / "loans.csv.gz", index=False)
    sample.to_parquet(d / "loans.parquet", index=False)
    with duckdb.connect(str(d / "loans.duckdb")) as con:
        con.register("src", sample)
        con.execute("CREATE TABLE loans AS SELECT * FROM src")
    for name in ("loans.sqlite", "loans_sqlite.db"):
        engine = sa.create_engine(f"sqlite:///{d / name}")
        sample.to_sql("loans", engine, index=False)
        engine.dispose()
    return d


@pytest.mark.parametrize(
    ("name", "sql"),
    [
        ("loans.csv", None),
        ("loans.csv.gz", None),
        ("loans.parquet", None),
        ("loans.duckdb", "SELECT * FROM loans"),
        ("loans_sqlite.db", "SELECT * FROM loans"),
    ],
)
def test_every_file_source_gives_the_csv_frame(files, sample, name, sql):
    pd.testing.assert_frame_equal(read_table(files / name, sql=sql), sample)


def test_sqlalchemy_url_gives_the_csv_frame(files, sample):
    got = read_table(f"sqlite:///{files / 'loans.sqlite'}", sql="SELECT * FROM loans")
    pd.testing.assert_frame_equal(got, sample)


@pytest.mark.parametrize(
    ("name", "sql"), [("loans.csv.gz", None), ("loans.parquet", None), ("loans.duckdb", "SELECT * FROM loans")]
)
def test_columns_selection(files, sample, name, sql):
    cols = ["loan_status", "revol_util", "issue_d"]
    pd.testing.assert_frame_equal(read_table(files / name, sql=sql, columns=cols), sample[cols])


@pytest.mark.parametrize("name", ["loans.csv", "loans.parquet", "loans.duckdb"])
def test_missing_column_is_schema_error(files, name):
    sql = "SELECT * FROM loans" if name.endswith("duckdb") else None
    with pytest.raises(SchemaError, match="no_such_column"):
        read_table(files / name, sql=sql, columns=["loan_status", "no_such_column"])


def _write(path, content: bytes):
    path.write_bytes(content)
    return path


@pytest.mark.parametrize(
    ("name", "content", "sql", "match"),
    [
        ("absent.csv", None, None, "file not found"),
        ("loans.xlsx", b"PK\x03\x04", None, "unknown file type"),
        ("broken.csv.gz", b"this is not gzip", None, "cannot read csv file"),
        ("broken.parquet", b"PAR1 nonsense", None, "cannot read parquet file"),
        ("empty.csv", b"", None, "cannot read csv file"),
        ("needs_sql.duckdb", b"", None, "needs sql="),
        ("plain.csv", b"a,b\n1,2\n", "SELECT 1", "sql= applies to databases only"),
    ],
)
def test_unreadable_sources_raise_data_error_naming_the_file(tmp_path, name, content, sql, match):
    path = tmp_path / name if content is None else _write(tmp_path / name, content)
    with pytest.raises(DataError, match=match) as info:
        read_table(path, sql=sql)
    assert name in str(info.value)


def test_bad_sql_names_the_database(files):
    with pytest.raises(DataError, match="loans.duckdb: DuckDB query failed"):
        read_table(files / "loans.duckdb", sql="SELECT * FROM no_such_table")
    with pytest.raises(DataError, match="SQL query failed"):
        read_table(f"sqlite:///{files / 'loans.sqlite'}", sql="SELECT * FROM no_such_table")


def test_url_without_sql_is_refused():
    with pytest.raises(DataError, match="needs sql="):
        read_table("sqlite:///whatever.db")


@pytest.mark.parametrize(("name", "batch_size"), [("loans.csv.gz", 700), ("loans.parquet", 700), ("loans.csv", 5_000)])
def test_iter_batches_is_bounded_and_complete(files, sample, name, batch_size):
    batches = list(iter_batches(files / name, batch_size=batch_size))
    assert max(len(b) for b in batches) <= batch_size
    assert len(batches) == -(-N_SAMPLE // batch_size)
    pd.testing.assert_frame_equal(pd.concat(batches, ignore_index=True), sample)


def test_iter_batches_errors(files, tmp_path):
    with pytest.raises(DataError, match="batch_size must be >= 1"):
        next(iter_batches(files / "loans.csv", batch_size=0))
    with pytest.raises(DataError, match="CSV and Parquet files only"):
        next(iter_batches(files / "loans.duckdb"))
    broken = _write(tmp_path / "broken.csv.gz", b"not gzip at all")
    with pytest.raises(DataError, match="broken.csv.gz"):
        list(iter_batches(broken))


@pytest.mark.parametrize(("name", "expected"), [("loans.parquet", N_SAMPLE), ("loans.csv.gz", None)])
def test_count_rows(files, name, expected):
    assert count_rows(files / name) == expected


@pytest.mark.parametrize(
    ("name", "rows", "cols"), [("lending_club", 42_535, 31), ("german_credit", 1_000, 21), ("belanche", 4_454, 14)]
)
def test_bundled_files(name, rows, cols):
    path = bundled_path(name)
    assert path.stat().st_size < 3_000_000
    assert load_bundled(name).shape == (rows, cols)


def test_bundled_attribution_and_unknown_name():
    text = (bundled_path("lending_club").parent / "ATTRIBUTION.md").read_text(encoding="utf-8")
    for needle in ["kuhnrl30/LendingClubData", "CC BY 4.0", "tidymodels/modeldata", *BUNDLED.values()]:
        assert needle in text
    with pytest.raises(ConfigError, match="lending_club"):
        bundled_path("lc")


def test_database_libraries_are_imported_lazily():
    code = "import sys, lendscore.data; print(sorted(m for m in ('duckdb', 'sqlalchemy') if m in sys.modules))"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "[]"

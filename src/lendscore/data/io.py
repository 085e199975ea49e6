"""Read applicant tables from files and databases, whole or in bounded-memory batches.

Supported sources:

- ``*.csv``, ``*.csv.gz``: pandas CSV reader;
- ``*.parquet``, ``*.pq``: pyarrow;
- ``*.duckdb``, ``*.db`` + ``sql=``: a query against a DuckDB file (a ``.db`` file that is really
  SQLite is detected by its header and read through SQLAlchemy);
- any SQLAlchemy URL (``sqlite:///x.db``, ``postgresql://...``) + ``sql=``.

duckdb and sqlalchemy are imported lazily, only when a database source is read. Every failure is
a :class:`~lendscore.errors.DataError` naming the source and the rule, never a raw traceback.
String columns come back with pandas' default string dtype whichever engine read them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from lendscore.errors import DataError, SchemaError

__all__ = ["read_table", "iter_batches", "count_rows", "SUPPORTED_SUFFIXES"]

CSV_SUFFIXES = (".csv", ".csv.gz")
PARQUET_SUFFIXES = (".parquet", ".pq")
DB_SUFFIXES = (".duckdb", ".db")
SUPPORTED_SUFFIXES = CSV_SUFFIXES + PARQUET_SUFFIXES + DB_SUFFIXES
_READ_ERRORS = (OSError, ValueError, UnicodeDecodeError, EOFError, pa.ArrowException)
_SQLITE_MAGIC = b"SQLite format 3\x00"


def _is_url(source: str | Path) -> bool:
    return isinstance(source, str) and "://" in source


def _kind(path: Path) -> str:
    name = path.name.lower()
    for kind, suffixes in (("csv", CSV_SUFFIXES), ("parquet", PARQUET_SUFFIXES), ("db", DB_SUFFIXES)):
        if name.endswith(suffixes):
            return kind
    raise DataError(
        f"unknown file type; the name must end in one of {list(SUPPORTED_SUFFIXES)}",
        source=str(path),
    )


def _existing(path: str | Path) -> Path:
    p = Path(path)
    if not p.is_file():
        raise DataError("file not found (the path must name an existing file)", source=str(p))
    return p


def _normalise(df: pd.DataFrame) -> pd.DataFrame:
    """Give object columns that hold only strings the default string dtype (as read_csv does)."""
    for col in df.columns[df.dtypes == np.dtype(object)]:
        values = df[col].dropna()
        if len(values) and values.map(type).eq(str).all():
            # pandas 2.x keeps object dtype here, and None would not equal read_csv's NaN
            df[col] = df[col].astype("str").where(df[col].notna(), np.nan)
    return df


def _select(df: pd.DataFrame, columns: Sequence[str] | None, source: str) -> pd.DataFrame:
    if columns is None:
        return df
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise SchemaError(f"columns not found: {missing}; available: {list(df.columns)}", source=source)
    return df[list(columns)]


def _read_sql_duckdb(path: Path, sql: str) -> pd.DataFrame:
    import duckdb

    try:
        with duckdb.connect(str(path), read_only=True) as con:
            return con.execute(sql).df()
    except duckdb.Error as e:
        raise DataError(f"DuckDB query failed: {e}", source=str(path)) from e


def _read_sql_url(url: str, sql: str, label: str) -> pd.DataFrame:
    import sqlalchemy as sa

    try:
        engine = sa.create_engine(url)
    except (sa.exc.SQLAlchemyError, ImportError, ValueError) as e:
        raise DataError(f"cannot open database URL: {e}", source=label) from e
    try:
        with engine.connect() as con:
            result = con.execute(sa.text(sql))
            return pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    except sa.exc.SQLAlchemyError as e:
        raise DataError(f"SQL query failed: {e}", source=label) from e
    finally:
        engine.dispose()


def _redact(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        import sqlalchemy as sa

        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:  # only used to build a message
        return url.split("@")[-1]


def read_table(source: str | Path, *, sql: str | None = None, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Read a whole table from a CSV/CSV.gz/Parquet file, a DuckDB/SQLite file or a database URL.

    ``sql`` is required for database sources and refused for files. ``columns`` selects columns
    (a missing one raises ``SchemaError``). Raises ``DataError`` naming the source on a missing
    file, an unknown extension or an unreadable file.
    """
    if _is_url(source):
        label = _redact(str(source))
        if not sql:
            raise DataError("a database URL needs sql= (the query to run)", source=label)
        return _select(_normalise(_read_sql_url(str(source), sql, label)), columns, label)
    path = _existing(source)
    kind = _kind(path)
    label = str(path)
    if kind == "db":
        if not sql:
            raise DataError("a database file needs sql= (the query to run)", source=label)
        with path.open("rb") as fh:
            is_sqlite = fh.read(len(_SQLITE_MAGIC)) == _SQLITE_MAGIC
        df = _read_sql_url(f"sqlite:///{path}", sql, label) if is_sqlite else _read_sql_duckdb(path, sql)
        return _select(_normalise(df), columns, label)
    if sql is not None:
        raise DataError(f"sql= applies to databases only, not to a {kind} file", source=label)
    cols = list(columns) if columns else None
    try:
        if kind == "csv":
            df = pd.read_csv(path, usecols=cols, low_memory=False)
        else:
            if cols:
                _select(pd.DataFrame(columns=pq.read_schema(path).names), cols, label)
            df = _normalise(pq.read_table(path, columns=cols).to_pandas())
    except SchemaError:
        raise
    except _READ_ERRORS as e:
        if cols and isinstance(e, ValueError) and "Usecols" in str(e):
            raise SchemaError(f"columns not found: {e}", source=label) from e
        raise DataError(f"cannot read {kind} file: {e}", source=label) from e
    return _select(df, cols, label)


def iter_batches(
    path: str | Path, *, batch_size: int = 50_000, columns: Sequence[str] | None = None
) -> Iterator[pd.DataFrame]:
    """Yield a CSV/CSV.gz or Parquet file as DataFrames of at most ``batch_size`` rows.

    Memory stays bounded by one batch. Row index continues across batches for CSV (0, 1, ... over
    the whole file) and restarts at 0 in each Parquet batch.
    """
    if batch_size < 1:
        raise DataError(f"batch_size must be >= 1; got {batch_size}")
    p = _existing(path)
    kind = _kind(p)
    if kind == "db":
        raise DataError("iter_batches reads CSV and Parquet files only; use read_table(sql=...)", source=str(p))
    cols = list(columns) if columns else None
    try:
        if kind == "csv":
            with pd.read_csv(p, chunksize=batch_size, usecols=cols, low_memory=False) as reader:
                yield from reader
        else:
            for batch in pq.ParquetFile(p).iter_batches(batch_size=batch_size, columns=cols):
                yield _normalise(batch.to_pandas())
    except _READ_ERRORS as e:
        raise DataError(f"cannot read {kind} file: {e}", source=str(p)) from e


def count_rows(path: str | Path) -> int | None:
    """Number of rows when it is cheap to know (Parquet metadata), else None (CSV, databases)."""
    p = _existing(path)
    if _kind(p) != "parquet":
        return None
    try:
        return int(pq.ParquetFile(p).metadata.num_rows)
    except _READ_ERRORS as e:
        raise DataError(f"cannot read parquet metadata: {e}", source=str(p)) from e

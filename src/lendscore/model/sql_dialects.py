"""The leaves of the exported SQL that differ by dialect, as sqlglot expressions.

The scoring query (:mod:`lendscore.model.sql`) is one sqlglot expression tree rendered with
``tree.sql(dialect=...)``: sqlglot writes each dialect's identifier quoting (``"a"``, ```a```,
``[a]``), string escapes, type names (``DOUBLE``, ``DOUBLE PRECISION``, ``FLOAT64``, ``FLOAT``,
``REAL``), ``LN`` (T-SQL ``LOG``), ``EXTRACT``/``YEAR``, ``SUBSTRING ... FROM ... FOR`` and so on.
What sqlglot cannot know is the *meaning* we need where engines disagree; those few leaves are
chosen here, per dialect, and nowhere else:

- **reading a raw number**: ``CAST(x AS DOUBLE)``, and NaN read as NULL (the Missing bin) where the
  type has a NaN: ``ISNAN`` (DuckDB, Spark), ``IS_NAN`` (BigQuery, where NaN = NaN is false), an
  equality with ``'NaN'`` (PostgreSQL, Snowflake, where NaN = NaN is true); T-SQL's FLOAT and
  SQLite's REAL hold no NaN. SQLite (type affinity: a column may hold text) reads an empty or blank
  text as NULL -- a CSV imported with ``.import`` stores missing values as ``''``, which SQLite
  would otherwise sort above every number, i.e. into the top bin;
- **reading a date**: its first ten characters (``YYYY-MM-DD``, a time may follow) cast to DATE
  (SQLite: ``DATE(...)``, a text); an empty text is NULL;
- **the parts of a date** for the credit age: ``YEAR``/``MONTH``/``DAY`` (or ``EXTRACT``) as sqlglot
  renders them, SQLite from the text. ``exp.DateDiff`` with unit MONTH is *not* used: sqlglot
  30 renders it as month boundaries crossed in DuckDB, Snowflake and T-SQL, as ``AGE`` in
  PostgreSQL (day-adjusted) and as days / 30 in SQLite, three different numbers for one pair of
  dates, none of them the day-adjusted whole months of :func:`lendscore.data.derive.credit_age_months`
  in every engine;
- **today** (an application without its date): the current date in UTC, as Python dates it;
- **numbers** as ``CAST(<repr with an exponent> AS DOUBLE)``: the literal is read correctly rounded
  and typed DOUBLE in every engine (PostgreSQL reads ``1.5e0`` alone as NUMERIC, which would make
  the points' sum exact decimal arithmetic instead of Python's floating-point sum).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import sqlglot
from sqlglot import exp

from lendscore.errors import ConfigError

__all__ = ["DIALECTS", "check_dialect", "ident", "col", "num", "read", "null", "is_nan", "date_part", "today"]

DIALECTS = ("duckdb", "sqlite", "postgres", "spark", "bigquery", "snowflake", "tsql")
NUMBER, DATE, CATEGORY = "number", "date", "category"
DOUBLE = exp.DataType.build("DOUBLE")
TEXT = exp.DataType.build("TEXT")
DATE_TYPE = exp.DataType.build("DATE")

# the current date in UTC, written in each dialect (parsed by sqlglot in that dialect)
_TODAY_UTC = {
    "duckdb": "CAST(timezone('UTC', current_timestamp) AS DATE)",
    "sqlite": "DATE('now')",
    "postgres": "CAST(timezone('UTC', now()) AS DATE)",
    "spark": "CAST(to_utc_timestamp(current_timestamp(), current_timezone()) AS DATE)",
    "bigquery": "CURRENT_DATE('UTC')",
    "snowflake": "CAST(CONVERT_TIMEZONE('UTC', CURRENT_TIMESTAMP()) AS DATE)",
    "tsql": "CAST(SYSUTCDATETIME() AS DATE)",
}


def check_dialect(dialect: str) -> None:
    if dialect not in DIALECTS:
        raise ConfigError(f"dialect must be one of {list(DIALECTS)}; got {dialect!r}")


def ident(name: str) -> exp.Identifier:
    """A quoted identifier: each dialect writes its own quotes and escapes when rendered."""
    return exp.to_identifier(str(name), quoted=True)


def col(name: str) -> exp.Column:
    return exp.column(ident(name))


def float_literal(value: float) -> str:
    """``repr(float)`` with an exponent (``1.5e0``): read back as the same double."""
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"cannot write a non-finite number as an SQL literal; got {v!r}")
    r = repr(v)
    return r if "e" in r else r + "e0"


def num(value: float) -> exp.Cast:
    """A DOUBLE constant (see the module docstring)."""
    return exp.cast(exp.Literal.number(float_literal(value)), DOUBLE)


def null(kind: str) -> exp.Cast:
    """A typed NULL, for a raw column the table lacks."""
    return exp.cast(exp.null(), {NUMBER: DOUBLE, DATE: DATE_TYPE}.get(kind, TEXT))


def is_nan(e: exp.Expr, dialect: str) -> exp.Expr | None:
    """True where a DOUBLE is NaN; None where the dialect's floating type has no NaN."""
    if dialect in ("duckdb", "spark", "bigquery"):
        return exp.IsNan(this=e)  # ISNAN / IS_NAN
    if dialect in ("postgres", "snowflake"):  # NaN = NaN is true there
        return exp.EQ(this=e, expression=exp.cast(exp.Literal.string("NaN"), DOUBLE))
    return None


def _sqlite_blank(c: exp.Expr, trim: bool) -> exp.Expr:
    text = exp.EQ(this=exp.Anonymous(this="typeof", expressions=[c.copy()]), expression=exp.Literal.string("text"))
    value = exp.Trim(this=c.copy()) if trim else c.copy()
    return exp.and_(text, exp.EQ(this=value, expression=exp.Literal.string("")))


def read(c: exp.Expr, kind: str, dialect: str) -> exp.Expr:
    """A raw column read by type; a missing value (NULL, NaN, SQLite's empty text) is NULL."""
    if kind == NUMBER:
        if dialect == "sqlite":
            return exp.cast(exp.case().when(_sqlite_blank(c, True), exp.null()).else_(c.copy()), DOUBLE)
        value = exp.cast(c.copy(), DOUBLE)
        nan = is_nan(value.copy(), dialect)
        return value if nan is None else exp.case().when(nan, exp.null()).else_(value)
    if kind == DATE:
        first10 = exp.Substring(
            this=exp.cast(c.copy(), TEXT), start=exp.Literal.number(1), length=exp.Literal.number(10)
        )
        return exp.cast(exp.Nullif(this=first10, expression=exp.Literal.string("")), DATE_TYPE)
    if dialect == "sqlite":
        return exp.case().when(_sqlite_blank(c, False), exp.null()).else_(c.copy())
    return c.copy()


def date_part(e: exp.Expr, part: str, dialect: str) -> exp.Expr:
    """The year, month or day of a date read by :func:`read` (an integer)."""
    if dialect == "sqlite":  # a DATE(...) text, YYYY-MM-DD
        start, length = {"year": (1, 4), "month": (6, 2), "day": (9, 2)}[part]
        sub = exp.Substring(this=e.copy(), start=exp.Literal.number(start), length=exp.Literal.number(length))
        return exp.cast(sub, exp.DataType.build("INT"))
    node = {"year": exp.Year, "month": exp.Month, "day": exp.Day}[part]
    return node(this=e.copy())


def today(decision_date: Any, dialect: str) -> exp.Expr:
    """The date an application without its application date is dated: ``decision_date``, else
    the database's current date in UTC."""
    if decision_date is None:
        return sqlglot.parse_one(_TODAY_UTC[dialect], read=dialect)
    from lendscore.data.derive import as_dates

    day = as_dates(decision_date, "decision_date")
    if day.size != 1 or np.isnat(day[0]):
        raise ConfigError(f"decision_date must be one date; got {decision_date!r}")
    return exp.cast(exp.Literal.string(str(day[0])), DATE_TYPE)

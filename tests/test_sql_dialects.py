"""The one sqlglot scoring tree in every dialect: PostgreSQL (a real server), and the dialects CI
cannot run (BigQuery, Snowflake, T-SQL; Spark is run by tests/test_spark.py).

- PostgreSQL: the server tests/test_service_postgres.py starts (its ``pg_url`` fixture); the
  bundled 2011 Lending Club raw rows, typed as a warehouse would type them (a DATE column, a text
  date, NULL and NaN among the numbers), score as Python scores them, to 1e-9.
- BigQuery, Snowflake, T-SQL, Spark: the generated SQL is read back by sqlglot's parser in that
  dialect (one SELECT of the scoring columns, identifiers as the model names them), then
  transpiled by sqlglot to DuckDB and run there, giving Python's scores to 1e-9. That round trip
  is faithful for BigQuery, Snowflake and Spark; for T-SQL it is not: sqlglot 30 reads ``FLOAT``
  (T-SQL's 8-byte FLOAT(53)) as a 4-byte float and writes ``VARCHAR(MAX)`` as DuckDB's
  ``TEXT(MAX)``, so the test maps those two types back (DOUBLE, TEXT) before running it.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pandas as pd
import pytest
import sqlglot
from sqlglot import exp

import test_service_postgres
import test_sql_export
from lendscore import ConfigError
from lendscore.model.sql import DIALECTS, derive_sql, scoring_tree, to_sql

# fixtures shared with the DuckDB/SQLite tests, and the real PostgreSQL server of the audit-store tests
lc_raw_model = test_sql_export.lc_raw_model
raw_2011 = test_sql_export.raw_2011
raw_reference = test_sql_export.raw_reference
awkward = test_sql_export.awkward
pg_url = test_service_postgres.pg_url
_check_raw = test_sql_export._check_raw

UNRUN = ("bigquery", "snowflake", "tsql", "spark")  # not run against their own engine here
DAY = "2012-01-20"


def _outputs(model, id_column="app_id") -> list[str]:
    return [id_column, "pd", "score", "grade", *("points_" + c for c in model.characteristics_)]


def _needed(model) -> list[str]:
    """The raw fields and non-derived model inputs: what the query reads by default."""
    spec = model.inputs_
    outputs = set(spec.derivation.outputs)
    return list(dict.fromkeys([*spec.derivation.raw_fields, *(c for c in model.table_.inputs if c not in outputs)]))


# ---------------------------------------------------------------- PostgreSQL, a real server
@pytest.fixture(scope="module")
def pg(pg_url, lc_raw_model, raw_2011):
    """The needed raw columns in PostgreSQL: ``earliest_cr_line`` a DATE, ``issue_d`` text, and
    half of the missing ``revol_util`` stored as NaN (the other half NULL)."""
    import sqlalchemy as sa

    engine = sa.create_engine(pg_url)
    frame = raw_2011[[*_needed(lc_raw_model), "app_id"]].copy()
    frame["earliest_cr_line"] = pd.to_datetime(frame["earliest_cr_line"]).dt.date
    frame.to_sql("raw applicants", engine, index=False, chunksize=2000, method="multi")
    with engine.begin() as con:
        con.execute(
            sa.text("UPDATE \"raw applicants\" SET revol_util = 'NaN' WHERE revol_util IS NULL AND app_id % 2 = 0")
        )
        kinds = dict(
            con.execute(
                sa.text(
                    "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'raw applicants'"
                )
            ).all()
        )
        n_nan = con.execute(sa.text("SELECT count(*) FROM \"raw applicants\" WHERE revol_util = 'NaN'")).scalar()
    assert kinds["earliest_cr_line"] == "date" and kinds["issue_d"] == "text"
    assert kinds["revol_util"] == "double precision" and n_nan > 50
    yield engine
    engine.dispose()


def test_postgres_scores_raw_rows_as_python(pg, lc_raw_model, raw_reference):
    sql = to_sql(lc_raw_model, "raw applicants", dialect="postgres", id_column="app_id")
    with pg.connect() as con:
        got = pd.read_sql_query(sql, con)
    assert list(got.columns) == _outputs(lc_raw_model)
    gap = _check_raw(lc_raw_model, got, raw_reference)
    print(f"largest PD gap, PostgreSQL vs predict_proba: {gap:.3g}")


def test_postgres_missing_revol_util_in_the_missing_bin(pg, lc_raw_model, raw_2011):
    """NULL and NaN alike take the Missing bin's points (the issue's SQLite-on-PostgreSQL query put
    them in the top bin)."""
    points = lc_raw_model.points_table().query("characteristic == 'revol_util'")
    missing_points = float(points[points["bin"] == "Missing"]["points"].iloc[0])
    sql = to_sql(lc_raw_model, "raw applicants", dialect="postgres", id_column="app_id")
    with pg.connect() as con:
        got = pd.read_sql_query(sql, con).sort_values("app_id").reset_index(drop=True)
    missing = raw_2011["revol_util"].isna().to_numpy()
    assert missing.sum() > 100
    assert (got.loc[missing, "points_revol_util"] == missing_points).all()
    assert (got.loc[~missing, "points_revol_util"] != missing_points).any()


def test_postgres_derivation_and_today_in_utc(pg, lc_raw_model, raw_2011):
    """The derivation alone on PostgreSQL: credit age and the income lines to the bit, NTH to a
    few units in the last place; a row without ``issue_d`` is dated today in UTC."""
    import sqlalchemy as sa

    with pg.begin() as con:
        con.execute(sa.text('UPDATE "raw applicants" SET issue_d = NULL WHERE app_id % 50 = 3'))
    try:
        before = dt.datetime.now(dt.UTC).date()
        with pg.connect() as con:
            got = pd.read_sql_query(
                derive_sql(lc_raw_model.inputs_, "raw applicants", dialect="postgres", id_column="app_id"), con
            )
        after = dt.datetime.now(dt.UTC).date()
    finally:
        with pg.begin() as con:
            con.execute(
                sa.text('UPDATE "raw applicants" SET issue_d = :d WHERE app_id = :i'),
                [{"d": raw_2011["issue_d"][i], "i": i} for i in range(3, len(raw_2011), 50)],
            )
    got = got.sort_values("app_id").reset_index(drop=True)
    undated = raw_2011.index % 50 == 3
    frame = raw_2011.copy()
    for day in {before, after}:
        frame.loc[undated, "issue_d"] = day.isoformat()
        python = lc_raw_model.derive(frame).sort_values("app_id").reset_index(drop=True)
        if (got["credit_age_months"].to_numpy() == python["credit_age_months"].to_numpy()).all():
            break
    else:
        pytest.fail("credit age on PostgreSQL differs from Python's, today taken in UTC")
    for c in ("monthly_income", "existing_obligations"):
        a, b = got[c].to_numpy(dtype=float), python[c].to_numpy(dtype=float)
        assert ((a == b) | (np.isnan(a) & np.isnan(b))).all(), c
    for c in ("installment", "nth", "nth_ratio"):
        np.testing.assert_allclose(got[c].to_numpy(dtype=float), python[c].to_numpy(dtype=float), rtol=1e-14, atol=1e-9)


# ---------------------------------------------------------------- every dialect, read back by sqlglot
@pytest.mark.parametrize("dialect", DIALECTS)
def test_sqlglot_reads_the_query_back_in_its_dialect(lc_raw_model, dialect):
    sql = to_sql(lc_raw_model, "raw applicants", dialect=dialect, id_column="app_id")
    trees = sqlglot.parse(sql, read=dialect)
    assert len(trees) == 1 and isinstance(trees[0], exp.Select)
    assert [e.alias_or_name for e in trees[0].expressions] == _outputs(lc_raw_model)
    ctes = [c.alias for c in trees[0].args["with_"].expressions]
    tables = {t.name for t in trees[0].find_all(exp.Table)}
    assert tables - set(ctes) == {"raw applicants"}
    # every identifier is quoted, with this dialect's quotes
    idents = list(trees[0].find_all(exp.Identifier))
    assert idents and all(i.quoted for i in idents)
    quote = {"spark": "`", "bigquery": "`", "tsql": "["}.get(dialect, '"')
    assert f"{quote}revol_util" in sql
    if dialect in ("spark", "bigquery"):  # double quotes would be string literals there
        assert '"' not in sql


@pytest.mark.parametrize("dialect", DIALECTS)
def test_awkward_names_survive_each_dialects_quoting(awkward, dialect):
    """Column names with a dash, double quotes and a single quote, a category with a quote: read
    back by sqlglot in the dialect, every name and literal is the model's own."""
    model, _ = awkward
    tree = sqlglot.parse_one(to_sql(model, "t-1", dialect=dialect, id_column="app id"), read=dialect)
    names = {i.name for i in tree.find_all(exp.Identifier)}
    assert {"a-1", 'b "q"', "c'", "t-1", "app id"} <= names
    strings = {s.this for s in tree.find_all(exp.Literal) if s.is_string}
    assert "z'q" in strings


def _to_duckdb(sql: str, dialect: str) -> str:
    tree = sqlglot.parse_one(sql, read=dialect)
    if dialect == "tsql":
        for node in list(tree.find_all(exp.DataType)):
            if node.this == exp.DataType.Type.FLOAT:  # T-SQL FLOAT is FLOAT(53), 8 bytes; sqlglot: 4
                node.replace(exp.DataType.build("DOUBLE"))
            elif node.expressions:  # VARCHAR(MAX) would be written TEXT(MAX), which DuckDB refuses
                node.replace(exp.DataType.build("TEXT"))
    return tree.sql(dialect="duckdb")


@pytest.mark.parametrize("dialect", UNRUN)
def test_transpiled_to_duckdb_scores_as_python(lc_raw_model, raw_2011, raw_reference, dialect):
    """Transpiled by sqlglot to DuckDB and run: the same PD, score, grade and points as Python."""
    con = duckdb.connect()
    con.register("applicants", raw_2011)
    sql = to_sql(lc_raw_model, dialect=dialect, id_column="app_id", decision_date=DAY)
    got = con.execute(_to_duckdb(sql, dialect)).df()
    assert list(got.columns) == _outputs(lc_raw_model)
    _check_raw(lc_raw_model, got, raw_reference)


def test_tsql_float_is_read_back_as_four_bytes_by_sqlglot(lc_raw_model):
    """Why the T-SQL round trip needs the FLOAT -> DOUBLE mapping (fails once sqlglot keeps it)."""
    sql = to_sql(lc_raw_model, dialect="tsql", decision_date=DAY)
    assert "AS FLOAT)" in sql and "DOUBLE" not in sql
    assert "REAL" in sqlglot.parse_one(sql, read="tsql").sql(dialect="duckdb")


@pytest.mark.parametrize("dialect", DIALECTS)
def test_today_is_the_current_date_in_utc(dialect):
    """The leaf dating a row without its application date, as each dialect writes it."""
    from lendscore.model.sql_dialects import today

    want = {
        "duckdb": "CAST(TIMEZONE('UTC', CURRENT_TIMESTAMP) AS DATE)",
        "sqlite": "DATE('now')",
        "postgres": "CAST(TIMEZONE('UTC', CURRENT_TIMESTAMP) AS DATE)",
        "spark": "CAST(TO_UTC_TIMESTAMP(CAST(CURRENT_TIMESTAMP() AS TIMESTAMP), CURRENT_TIMEZONE()) AS DATE)",
        "bigquery": "CURRENT_DATE('UTC')",
        "snowflake": "CAST(CONVERT_TIMEZONE('UTC', CURRENT_TIMESTAMP()) AS DATE)",
        "tsql": "CAST(SYSUTCDATETIME() AS DATE)",
    }[dialect]
    assert today(None, dialect).sql(dialect=dialect) == want
    assert today(DAY, dialect).sql(dialect=dialect) in (f"CAST('{DAY}' AS DATE)", f"DATE('{DAY}')")


def test_one_tree_for_every_dialect(lc_raw_model):
    """The dialects differ only in the leaves of sql_dialects: the same CTEs, in the same order."""
    shapes = set()
    for dialect in DIALECTS:
        tree = scoring_tree(lc_raw_model, dialect=dialect, id_column="app_id", decision_date=DAY)
        shapes.add(tuple(c.alias for c in tree.args["with_"].expressions))
    assert len(shapes) == 1


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_table_named_by_its_parts(lc_raw_model, raw_2011, raw_reference, dialect):
    """(schema, table): each part quoted in the dialect; run on DuckDB (transpiled for the others)."""
    sql = to_sql(lc_raw_model, ("my schema", "raw applicants"), dialect=dialect, id_column="app_id", decision_date=DAY)
    table = next(t for t in sqlglot.parse_one(sql, read=dialect).find_all(exp.Table) if t.db)
    assert (table.db, table.name) == ("my schema", "raw applicants")
    if dialect == "sqlite":
        return  # SQLite's schemas are attached databases
    con = duckdb.connect()
    con.register("frame", raw_2011)
    con.execute('CREATE SCHEMA "my schema"; CREATE TABLE "my schema"."raw applicants" AS SELECT * FROM frame')
    got = con.execute(sql if dialect == "duckdb" else _to_duckdb(sql, dialect)).df()
    _check_raw(lc_raw_model, got, raw_reference)


def test_a_bad_table_name_is_refused(lc_raw_model):
    with pytest.raises(ConfigError, match="table must be"):
        to_sql(lc_raw_model, ("a", "b", "c", "d"))


def test_a_boolean_category_scores_in_sql_as_in_python():
    """A BOOLEAN column binned as a category: Python names its categories 'True'/'False'
    (``str(True)``) and SQL engines write a boolean as 'true'/'false'; both land in the same bin
    (without the rule every boolean would score in the Unseen-category bin)."""
    rng = np.random.default_rng(3)
    n = 4000
    X = pd.DataFrame({"owner": rng.random(n) < 0.4, "x": rng.normal(size=n)})
    y = (rng.random(n) < 0.1 + 0.15 * ~X["owner"].to_numpy() + 0.05 * (X["x"] > 0)).astype(int)
    from lendscore import Scorecard

    model = Scorecard(max_rules=0).fit(X, y)
    assert "owner" in model.selected_features_
    con = duckdb.connect()
    con.register("applicants", X.assign(app_id=np.arange(n)))
    assert con.execute("SELECT typeof(owner) FROM applicants LIMIT 1").fetchone()[0] == "BOOLEAN"
    got = con.execute(to_sql(model, "applicants", id_column="app_id")).df().sort_values("app_id")
    want = model.score_details(X)
    np.testing.assert_allclose(got["pd"].to_numpy(), want["pd"].to_numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(got["points_owner"].to_numpy(), want["points_owner"].to_numpy(), rtol=0, atol=1e-9)

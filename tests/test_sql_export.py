"""One applicant, a DataFrame, a streamed file and SQL (DuckDB, SQLite) give identical scores.

The SQL export reads raw applicant rows and runs the model file's declared derivation itself: on
the bundled Lending Club rows of 2011 (no derived column in the table, ``installment`` dropped for
a third of the rows or entirely) DuckDB and SQLite give Python's PD, grade and points.
"""

from __future__ import annotations

import datetime as dt
import math
import sqlite3

import duckdb
import numpy as np
import pandas as pd
import pytest

from lendscore import ConfigError, Scorecard
from lendscore.data import get_profile, iter_batches, load_bundled, prepare
from lendscore.model.scaling import score_to_pd
from lendscore.model.sql import (
    DIALECTS,
    derive_sql,
    float_literal,
    grade_score_cutoffs,
    quote_ident,
    quote_str,
    scoring_tree,
    to_sql,
)

TOL = 1e-9


@pytest.fixture(scope="module")
def frame(lending_club):
    return lending_club.X_test.assign(app_id=np.arange(len(lending_club.X_test)))


@pytest.fixture(scope="module")
def reference(lc_model, frame):
    return lc_model.score_details(frame)


def _check(model, got: pd.DataFrame, ref: pd.DataFrame):
    got = got.sort_values("app_id").reset_index(drop=True)
    assert len(got) == len(ref)
    np.testing.assert_allclose(got["pd"], ref["pd"].to_numpy(), rtol=0, atol=TOL)
    np.testing.assert_allclose(got["score"], ref["score"].to_numpy(), rtol=0, atol=TOL)
    assert (got["grade"].to_numpy() == ref["grade"].to_numpy()).all()
    for c in model.characteristics_:
        np.testing.assert_allclose(got["points_" + c], ref["points_" + c].to_numpy(), rtol=0, atol=TOL)


def _duckdb(model, frame):
    con = duckdb.connect()
    con.register("applicants", frame)
    return con.execute(to_sql(model, id_column="app_id")).df()


def _sqlite_connect() -> sqlite3.Connection:
    """An SQLite connection with ``exp`` and ``ln`` (registered here, in the test only, when this
    SQLite was built without its math functions: the exported SQL needs them)."""
    con = sqlite3.connect(":memory:")
    try:
        con.execute("SELECT exp(1e0), ln(2e0)")
    except sqlite3.OperationalError:
        con.create_function("exp", 1, math.exp, deterministic=True)
        con.create_function("ln", 1, math.log, deterministic=True)
    return con


def _sqlite(model, frame, **kw):
    con = _sqlite_connect()
    frame.to_sql("applicants", con, index=False)
    return pd.read_sql_query(to_sql(model, dialect="sqlite", id_column="app_id", **kw), con)


def test_single_applicant_path(lc_model, frame, reference):
    got = pd.DataFrame(
        [
            {**lc_model.predict_one({k: v for k, v in r.items() if k != "app_id"}), "app_id": r["app_id"]}
            for r in frame.to_dict("records")
        ]
    )
    np.testing.assert_allclose(got["score"], reference["score"], rtol=0, atol=TOL)
    assert (got["grade"] == reference["grade"]).all()


def test_streamed_parquet_path(lc_model, frame, reference, tmp_path):
    path = tmp_path / "applicants_2011.parquet"
    frame.to_parquet(path, index=False)
    got = pd.concat(
        [lc_model.score_details(b).assign(app_id=b["app_id"].to_numpy()) for b in iter_batches(path, batch_size=4000)],
        ignore_index=True,
    )
    _check(lc_model, got, reference)


def test_duckdb_sql(lc_model, frame, reference):
    got = _duckdb(lc_model, frame)
    assert list(got.columns) == ["app_id", "pd", "score", "grade", *("points_" + c for c in lc_model.characteristics_)]
    _check(lc_model, got, reference)


def test_sqlite_sql(lc_model, frame, reference):
    _check(lc_model, _sqlite(lc_model, frame), reference)


def test_without_id_column(lc_model, frame, reference):
    con = duckdb.connect()
    con.register("t", frame.head(50))
    got = con.execute(to_sql(lc_model, "t")).df()
    assert "app_id" not in got.columns
    np.testing.assert_allclose(got["score"], reference["score"].head(50), rtol=0, atol=TOL)


@pytest.fixture(scope="module")
def awkward():
    """Synthetic data with an interaction, missing and special values, unseen categories, and
    column names needing quotes; fitted so that rules enter the model."""
    rng = np.random.default_rng(0)
    n = 6000
    a = rng.normal(size=n)
    b = np.round(rng.gamma(2.0, 5.0, size=n))
    c = rng.choice(["x", "y", "z'q"], n)
    logit = -2 + 0.8 * a - 0.05 * b + 2.0 * ((a > 0.5) & (b < 5)) + (c == "x")
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    a[rng.random(n) < 0.05] = np.nan
    b[rng.random(n) < 0.03] = 98  # special code
    X = pd.DataFrame({"a-1": a, 'b "q"': b, "c'": pd.Series(c, dtype=object)})
    model = Scorecard(woe_cv=0, iv_min=0.0, special_codes={'b "q"': [98]}).fit(X, y)
    test = X.copy()
    test.loc[:20, "c'"] = "never seen"
    test.loc[21:40, "c'"] = None
    test.loc[41:60, "a-1"] = [float(s) for s in model.binnings_["a-1"].splits[:1]] * 20
    return model, test.assign(app_id=np.arange(n))


def test_awkward_names_rules_missing_special_unseen(awkward):
    model, frame = awkward
    assert model.rules_, "the synthetic interaction should bring at least one rule"
    assert model.binnings_['b "q"'].special_codes == [98.0]
    ref = model.score_details(frame)
    _check(model, _duckdb(model, frame), ref)
    _check(model, _sqlite(model, frame), ref)


def test_grade_cutoffs_reproduce_python_grades_at_the_bounds(lc_model):
    cut = grade_score_cutoffs(lc_model)
    for s, g in zip(cut, lc_model.grades_[:-1], strict=True):
        assert score_to_pd(s, lc_model.scaling_) <= g["pd_max"]
        assert score_to_pd(np.nextafter(s, -np.inf), lc_model.scaling_) > g["pd_max"]
    scores = np.array([v for s in cut for v in (np.nextafter(s, -np.inf), s)])
    con = duckdb.connect()
    con.register("frame", pd.DataFrame({"score": scores}))
    tree = scoring_tree(lc_model)
    grade = next(e for e in tree.expressions if e.alias == "grade").this
    got = con.execute(f"SELECT {grade.sql(dialect='duckdb')} AS g FROM frame").df()["g"]
    from lendscore.model.grades import assign_grades

    assert list(got) == list(assign_grades(score_to_pd(scores, lc_model.scaling_), lc_model.grades_))


def test_literals_and_quoting():
    assert float_literal(0.1) == "0.1e0" and float(float_literal(0.1)) == 0.1
    assert float_literal(1e-05) == "1e-05"
    with pytest.raises(ValueError):
        float_literal(float("nan"))
    assert quote_ident('a"b') == '"a""b"'
    assert quote_ident("a`b", "spark") == "`a``b`"
    assert quote_ident("a]b", "tsql") == "[a]]b]"
    assert quote_str("it's") == "'it''s'"


def test_unknown_dialect_is_refused_naming_the_allowed_ones(lc_model):
    with pytest.raises(ConfigError, match="'oracle'") as e:
        to_sql(lc_model, dialect="oracle")
    assert all(d in str(e.value) for d in DIALECTS) and len(DIALECTS) == 7


# ---------------------------------------------------------------- raw applicant rows: the derivation in SQL
LC = "lending_club_2007_2011"
DERIVED = ("credit_age_months", "installment", "monthly_income", "existing_obligations", "nth", "nth_ratio")


@pytest.fixture(scope="module")
def lc_raw_model():
    """A Lending Club scorecard fitted through the profile (its file declares the derivation),
    trained on the loans issued before 2011."""
    profile = get_profile(LC)
    X, y, t, _ = prepare(load_bundled("lending_club"), profile)
    train = (t < pd.Timestamp("2011-01-01")).to_numpy()
    model = Scorecard().fit(X[train], y[train], inputs=profile)
    assert {"nth", "nth_ratio"} <= set(model.selected_features_), "the test needs derived model inputs"
    return model


@pytest.fixture(scope="module")
def raw_2011():
    """Every bundled raw row issued in 2011 (no derived column; ``installment`` missing in a
    third of the rows, so that the instalment is amortised in SQL there; some ``revol_util``
    missing)."""
    raw = load_bundled("lending_club")
    raw = raw[raw["issue_d"].str[:4] == "2011"].reset_index(drop=True)
    raw["app_id"] = np.arange(len(raw))
    raw.loc[raw.index % 3 == 0, "installment"] = np.nan
    raw.loc[raw.index % 97 == 5, "revol_util"] = np.nan
    assert len(raw) > 21_000 and not set(DERIVED[:1] + DERIVED[2:]) & set(raw.columns)
    return raw


@pytest.fixture(scope="module")
def raw_reference(lc_raw_model, raw_2011):
    return lc_raw_model.score_details(raw_2011), lc_raw_model.predict_proba(raw_2011)[:, 1]


def _check_raw(model, got: pd.DataFrame, reference) -> float:
    """Same PD (within TOL of predict_proba), grade and points as Python; returns the largest PD gap."""
    ref, proba = reference
    _check(model, got, ref)
    got = got.sort_values("app_id").reset_index(drop=True)
    gap = float(np.max(np.abs(got["pd"].to_numpy() - proba)))
    assert gap <= TOL
    return gap


def test_raw_rows_duckdb(lc_raw_model, raw_2011, raw_reference):
    con = duckdb.connect()
    con.register("applicants", raw_2011)
    got = con.execute(to_sql(lc_raw_model, id_column="app_id")).df()
    assert list(got.columns) == [
        "app_id",
        "pd",
        "score",
        "grade",
        *("points_" + c for c in lc_raw_model.characteristics_),
    ]
    gap = _check_raw(lc_raw_model, got, raw_reference)
    print(f"largest PD gap, DuckDB vs predict_proba: {gap:.3g}")


def test_raw_rows_sqlite(lc_raw_model, raw_2011, raw_reference):
    gap = _check_raw(lc_raw_model, _sqlite(lc_raw_model, raw_2011), raw_reference)
    print(f"largest PD gap, SQLite vs predict_proba: {gap:.3g}")


def test_the_query_reads_only_the_raw_fields_and_the_non_derived_inputs(lc_raw_model, raw_2011, raw_reference):
    spec = lc_raw_model.inputs_
    outputs = set(spec.derivation.outputs)
    needed = list(
        dict.fromkeys([*spec.derivation.raw_fields, *(c for c in lc_raw_model.selected_features_ if c not in outputs)])
    )
    assert "nth" not in needed and "credit_age_months" not in needed and "installment" in needed
    con = duckdb.connect()
    con.register("narrow", raw_2011[needed + ["app_id"]])
    con.execute("CREATE TABLE applicants AS SELECT * FROM narrow")  # exactly these columns, typed by DuckDB
    _check_raw(lc_raw_model, con.execute(to_sql(lc_raw_model, id_column="app_id")).df(), raw_reference)
    con.execute("ALTER TABLE applicants DROP COLUMN dti")
    with pytest.raises(duckdb.BinderException, match="dti"):
        con.execute(to_sql(lc_raw_model, id_column="app_id"))


def _source_columns(sql: str, dialect: str = "duckdb") -> set[str]:
    """The table's columns the query reads (its first CTE, as sqlglot parses it)."""
    import sqlglot
    from sqlglot import exp

    first = sqlglot.parse_one(sql, read=dialect).args["with_"].expressions[0].this
    return {c.name for c in first.find_all(exp.Column)}


def test_a_table_without_installment(lc_raw_model, raw_2011):
    """``installment`` dropped entirely: the caller declares the table's columns, the instalment
    is amortised for every row; the model's own inputs must be there."""
    frame = raw_2011.drop(columns=["installment"])
    ref = lc_raw_model.score_details(frame), lc_raw_model.predict_proba(frame)[:, 1]
    con = duckdb.connect()
    con.register("applicants", frame)
    sql = to_sql(lc_raw_model, id_column="app_id", columns=list(frame.columns))
    assert "installment" not in _source_columns(sql) and "loan_amnt" in _source_columns(sql)  # not read
    _check_raw(lc_raw_model, con.execute(sql).df(), ref)
    _check_raw(lc_raw_model, _sqlite(lc_raw_model, frame, columns=list(frame.columns)), ref)
    with pytest.raises(ConfigError, match="lacks the model input 'revol_util'"):
        to_sql(lc_raw_model, columns=[c for c in frame.columns if c != "revol_util"])


def test_missing_revol_util_lands_in_the_missing_bin_in_every_dialect(lc_raw_model, raw_2011, raw_reference):
    missing = raw_2011["revol_util"].isna().to_numpy()
    assert missing.sum() > 100
    top = lc_raw_model.points_table().query("characteristic == 'revol_util'")
    missing_points = float(top[top["bin"] == "Missing"]["points"].iloc[0])
    con = duckdb.connect()
    con.register("applicants", raw_2011)
    for got in (con.execute(to_sql(lc_raw_model, id_column="app_id")).df(), _sqlite(lc_raw_model, raw_2011)):
        got = got.sort_values("app_id").reset_index(drop=True)
        assert (got.loc[missing, "points_revol_util"] == missing_points).all()
    assert (raw_reference[0].loc[missing, "points_revol_util"] == missing_points).all()


def test_sqlite_table_of_text_imported_from_csv(lc_raw_model, raw_2011, tmp_path):
    """A CSV imported the way the sqlite3 shell's ``.import`` does: every column TEXT, a missing
    value an empty text. Numbers are read as numbers and '' as missing (the Missing bin), as
    Python reads the same file."""
    sample = raw_2011.iloc[::7].reset_index(drop=True)
    path = tmp_path / "applicants.csv"
    sample.to_csv(path, index=False)
    ref_frame = pd.read_csv(path)
    ref = lc_raw_model.score_details(ref_frame), lc_raw_model.predict_proba(ref_frame)[:, 1]
    con = _sqlite_connect()
    cols = list(sample.columns)
    con.execute(f"CREATE TABLE applicants ({', '.join(quote_ident(c) + ' TEXT' for c in cols)})")
    text = pd.read_csv(path, dtype=str, keep_default_na=False)
    con.executemany(f"INSERT INTO applicants VALUES ({', '.join('?' for _ in cols)})", text.itertuples(index=False))
    assert con.execute("SELECT count(*) FROM applicants WHERE revol_util = ''").fetchone()[0] > 0
    got = pd.read_sql_query(to_sql(lc_raw_model, dialect="sqlite", id_column="app_id"), con)
    got["app_id"] = got["app_id"].astype(int)
    _check_raw(lc_raw_model, got, ref)


def _derived_python(model, frame):
    return model.derive(frame).sort_values("app_id").reset_index(drop=True)


@pytest.mark.parametrize("dialect", ["duckdb", "sqlite"])
def test_derive_sql_equals_the_python_derivation(lc_raw_model, raw_2011, dialect):
    """Row by row the SQL takes the route derive_columns takes: credit age and the income lines
    to the bit, the amortised instalment to a few units in the last place."""
    frame = raw_2011.copy()
    frame.loc[frame.index % 11 == 3, "earliest_cr_line"] = None  # credit age missing
    frame.loc[frame.index % 13 == 4, "annual_inc"] = np.nan  # income, obligations, NTH missing
    frame.loc[frame.index % 17 == 6, ["installment", "term"]] = np.nan  # instalment missing
    frame.loc[frame.index % 19 == 7, "issue_d"] = "2011-06-15 12:30:00"  # a time after the date
    python = _derived_python(lc_raw_model, frame)
    sql = derive_sql(lc_raw_model.inputs_, id_column="app_id", dialect=dialect)
    if dialect == "duckdb":
        con = duckdb.connect()
        con.register("applicants", frame)
        got = con.execute(sql).df()
    else:
        con = _sqlite_connect()
        frame.to_sql("applicants", con, index=False)
        got = pd.read_sql_query(sql, con)
    got = got.sort_values("app_id").reset_index(drop=True)
    assert list(got.columns) == ["app_id", *DERIVED]
    for c in DERIVED:
        a, b = got[c].to_numpy(dtype=float), python[c].to_numpy(dtype=float)
        assert (np.isnan(a) == np.isnan(b)).all(), c
        ok = ~np.isnan(a)
        if c in ("credit_age_months", "monthly_income", "existing_obligations"):
            assert (a[ok] == b[ok]).all(), c
        else:
            np.testing.assert_allclose(a[ok], b[ok], rtol=8 * np.finfo(float).eps, atol=1e-9, err_msg=c)
    given = frame["installment"].notna().to_numpy()
    assert (got["installment"].to_numpy()[given] == frame["installment"].to_numpy()[given]).all()


def test_credit_age_without_application_date(lc_raw_model, raw_2011):
    """A row without its application date is dated ``decision_date``, else the database's current
    date (UTC), as Python dates it."""
    frame = raw_2011.head(200).copy()
    frame.loc[::2, "issue_d"] = None
    frame.loc[1, "earliest_cr_line"] = "2003-06-30"
    day = dt.date(2012, 3, 15)
    python = _derived_python(lc_raw_model, frame.fillna({"issue_d": day.isoformat()}))
    con = duckdb.connect()
    con.register("applicants", frame)
    sq = _sqlite_connect()
    frame.to_sql("applicants", sq, index=False)
    for decision_date in (day, "2012-03-15"):
        got = con.execute(derive_sql(lc_raw_model.inputs_, id_column="app_id", decision_date=decision_date)).df()
        assert (
            got.sort_values("app_id")["credit_age_months"].to_numpy() == python["credit_age_months"].to_numpy()
        ).all()
        got = pd.read_sql_query(
            derive_sql(lc_raw_model.inputs_, id_column="app_id", dialect="sqlite", decision_date=decision_date), sq
        )
        assert (
            got.sort_values("app_id")["credit_age_months"].to_numpy() == python["credit_age_months"].to_numpy()
        ).all()
    before = dt.datetime.now(dt.UTC).date()
    results = [
        con.execute(derive_sql(lc_raw_model.inputs_, id_column="app_id")).df(),
        pd.read_sql_query(derive_sql(lc_raw_model.inputs_, id_column="app_id", dialect="sqlite"), sq),
    ]
    after = dt.datetime.now(dt.UTC).date()
    options = [
        _derived_python(lc_raw_model, frame.fillna({"issue_d": d.isoformat()}))["credit_age_months"].to_numpy()
        for d in {before, after}
    ]
    for got in results:
        age = got.sort_values("app_id")["credit_age_months"].to_numpy()
        assert any((age == o).all() for o in options)
    with pytest.raises(ConfigError, match="decision_date"):
        to_sql(lc_raw_model, decision_date=["2012-01-01", "2012-02-01"])


def test_a_model_reading_credit_age(raw_2011):
    """A model whose inputs include the credit age: scored from raw rows in both dialects, some
    without the earliest credit line (the Missing bin) or the application date (decision date)."""
    profile = get_profile(LC)
    X, y, t, _ = prepare(load_bundled("lending_club"), profile)
    train = (t < pd.Timestamp("2011-01-01")).to_numpy()
    cols = ["credit_age_months", "nth_ratio"]
    model = Scorecard(iv_min=0.0).fit(X.loc[train, cols], y[train], inputs=profile)
    assert "credit_age_months" in model.selected_features_
    frame = raw_2011.copy()
    frame.loc[frame.index % 5 == 1, "earliest_cr_line"] = None
    frame.loc[frame.index % 7 == 2, "issue_d"] = None
    python_frame = frame.fillna({"issue_d": "2012-01-20"})
    ref = model.score_details(python_frame), model.predict_proba(python_frame)[:, 1]
    con = duckdb.connect()
    con.register("applicants", frame)
    _check_raw(model, con.execute(to_sql(model, id_column="app_id", decision_date="2012-01-20")).df(), ref)
    _check_raw(model, _sqlite(model, frame, decision_date="2012-01-20"), ref)


@pytest.mark.parametrize("dialect", ["duckdb", "sqlite"])
def test_the_export_is_one_select(lc_raw_model, dialect):
    """One statement, a SELECT (parsed by DuckDB's own parser; SQLite prepares it on a table)."""
    sql = to_sql(lc_raw_model, "raw applicants", dialect=dialect, id_column="app id")
    if dialect == "duckdb":
        statements = duckdb.extract_statements(sql)
        assert len(statements) == 1 and statements[0].type == duckdb.StatementType.SELECT
    else:
        assert sqlite3.complete_statement(sql + ";") and sql.count(";") == 0
        con = _sqlite_connect()
        needed = {*lc_raw_model.inputs_.derivation.raw_fields, *lc_raw_model.selected_features_, "app id"}
        needed -= set(lc_raw_model.inputs_.derivation.outputs) - {"installment"}
        con.execute(f'CREATE TABLE "raw applicants" ({", ".join(quote_ident(c) for c in sorted(needed))})')
        assert con.execute("EXPLAIN " + sql).fetchall()
    assert sql.lstrip().upper().startswith("WITH ") and "nth_ratio" not in _source_columns(sql, dialect)


def test_export_sql_command(lc_raw_model, raw_2011, raw_reference, tmp_path, capsys):
    from cli_helpers import run

    path = tmp_path / "model.json"
    lc_raw_model.save(path)
    code, out = run(["export-sql", "--model", str(path), "--id-column", "app_id"], capsys)
    assert code == 0, out
    con = duckdb.connect()
    con.register("applicants", raw_2011)
    _check_raw(lc_raw_model, con.execute(out).df(), raw_reference)
    frame = raw_2011.drop(columns=["installment"])
    code, out = run(
        [
            "export-sql",
            "--model",
            str(path),
            "--dialect",
            "sqlite",
            "--id-column",
            "app_id",
            "--columns",
            ",".join(frame.columns),
            "--decision-date",
            "2012-01-01",
        ],
        capsys,
    )
    assert code == 0, out
    ref = lc_raw_model.score_details(frame), lc_raw_model.predict_proba(frame)[:, 1]
    con = _sqlite_connect()
    frame.to_sql("applicants", con, index=False)
    _check_raw(lc_raw_model, pd.read_sql_query(out, con), ref)
    code, out = run(["export-sql", "--model", str(path), "--dialect", "oracle"], capsys)
    assert code == 2 and "oracle" in out and "bigquery" in out
    # a dotted --table is schema.table, each part quoted, not one table called "lake.applicants"
    code, out = run(["export-sql", "--model", str(path), "--id-column", "app_id", "--table", "lake.applicants"], capsys)
    assert code == 0, out
    con = duckdb.connect()
    con.execute("CREATE SCHEMA lake")
    con.register("frame", raw_2011)
    con.execute("CREATE TABLE lake.applicants AS SELECT * FROM frame")
    _check_raw(lc_raw_model, con.execute(out).df(), raw_reference)


def test_a_prepared_table_uses_its_derived_columns_where_raw_fields_are_missing(lc_raw_model, lending_club):
    """A table prepared for training has ``credit_age_months`` but no dates: declared, the
    derived column is the given value (route 3 of derive_columns), the rest is derived again."""
    frame = lending_club.X_test.assign(app_id=np.arange(len(lending_club.X_test)))
    frame.loc[frame.index % 4 == 0, "annual_inc"] = np.nan  # NTH from the given column there
    assert "issue_d" not in frame.columns and "credit_age_months" in frame.columns
    ref = lc_raw_model.score_details(frame), lc_raw_model.predict_proba(frame)[:, 1]
    con = duckdb.connect()
    con.register("applicants", frame)
    _check_raw(
        lc_raw_model, con.execute(to_sql(lc_raw_model, id_column="app_id", columns=list(frame.columns))).df(), ref
    )
    got = con.execute(derive_sql(lc_raw_model.inputs_, id_column="app_id", columns=list(frame.columns))).df()
    python = _derived_python(lc_raw_model, frame)
    assert (got.sort_values("app_id")["credit_age_months"].to_numpy() == python["credit_age_months"].to_numpy()).all()
    nth = got.sort_values("app_id")["nth"].to_numpy()
    np.testing.assert_array_equal(nth, python["nth"].to_numpy())
    given = (frame.index % 4 == 0) & frame["nth"].notna().to_numpy()
    assert given.sum() > 1000 and (nth[given] == frame["nth"].to_numpy()[given]).all()


@pytest.mark.parametrize("dialect", ["duckdb", "sqlite"])
def test_sqlglot_reads_the_export_as_one_select_of_the_scoring_columns(lc_raw_model, dialect):
    """An independent SQL parser (sqlglot) reads the export in its dialect as one SELECT whose
    outer columns are the id, pd, score, grade and one points column per characteristic and rule."""
    import sqlglot
    from sqlglot import exp

    sql = lc_raw_model.to_sql("applicants", dialect=dialect, id_column="app_id")
    trees = sqlglot.parse(sql, read=dialect)
    assert len(trees) == 1 and isinstance(trees[0], exp.Select)
    names = [e.alias_or_name for e in trees[0].expressions]
    want = ["app_id", "pd", "score", "grade"] + [f"points_{c}" for c in lc_raw_model.characteristics_]
    assert names == want

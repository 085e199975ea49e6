"""One applicant, a DataFrame, a streamed file and SQL (DuckDB, SQLite) give identical scores."""
from __future__ import annotations

import sqlite3

import duckdb
import numpy as np
import pandas as pd
import pytest

from lendscore import ConfigError, Scorecard
from lendscore.data import iter_batches
from lendscore.model.sql import float_literal, grade_score_cutoffs, quote_ident, quote_str, to_sql
from lendscore.model.scaling import score_to_pd

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
    np.testing.assert_allclose(got["score"], ref["score"].to_numpy(), rtol=0, atol=TOL)
    assert (got["grade"].to_numpy() == ref["grade"].to_numpy()).all()
    for c in model.characteristics_:
        np.testing.assert_allclose(got["points_" + c], ref["points_" + c].to_numpy(), rtol=0, atol=TOL)


def _duckdb(model, frame):
    con = duckdb.connect()
    con.register("applicants", frame)
    return con.execute(to_sql(model, id_column="app_id")).df()


def _sqlite(model, frame):
    con = sqlite3.connect(":memory:")
    frame.to_sql("applicants", con, index=False)
    return pd.read_sql_query(to_sql(model, dialect="sqlite", id_column="app_id"), con)


def test_single_applicant_path(lc_model, frame, reference):
    got = pd.DataFrame([{**lc_model.predict_one({k: v for k, v in r.items() if k != "app_id"}), "app_id": r["app_id"]} for r in frame.to_dict("records")])
    np.testing.assert_allclose(got["score"], reference["score"], rtol=0, atol=TOL)
    assert (got["grade"] == reference["grade"]).all()


def test_streamed_parquet_path(lc_model, frame, reference, tmp_path):
    path = tmp_path / "applicants_2011.parquet"
    frame.to_parquet(path, index=False)
    got = pd.concat([lc_model.score_details(b).assign(app_id=b["app_id"].to_numpy())
                     for b in iter_batches(path, batch_size=4000)], ignore_index=True)
    _check(lc_model, got, reference)


def test_duckdb_sql(lc_model, frame, reference):
    got = _duckdb(lc_model, frame)
    assert list(got.columns) == ["app_id", *("points_" + c for c in lc_model.characteristics_), "score", "grade"]
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
    for s, g in zip(cut, lc_model.grades_[:-1]):
        assert score_to_pd(s, lc_model.scaling_) <= g["pd_max"]
        assert score_to_pd(np.nextafter(s, -np.inf), lc_model.scaling_) > g["pd_max"]
    scores = np.array([v for s in cut for v in (np.nextafter(s, -np.inf), s)])
    frame = pd.DataFrame({"score": scores})
    case = to_sql(lc_model).split('CASE WHEN "score"', 1)[1].split(' AS "grade"')[0]
    got = duckdb.connect().execute(f'SELECT CASE WHEN "score"{case} AS g FROM frame').df()["g"]
    from lendscore.model.grades import assign_grades
    assert list(got) == list(assign_grades(score_to_pd(scores, lc_model.scaling_), lc_model.grades_))


def test_literals_and_quoting():
    assert float_literal(0.1) == "0.1e0" and float(float_literal(0.1)) == 0.1
    assert float_literal(1e-05) == "1e-05"
    with pytest.raises(ValueError):
        float_literal(float("nan"))
    assert quote_ident('a"b') == '"a""b"'
    assert quote_str("it's") == "'it''s'"


def test_unknown_dialect_is_refused(lc_model):
    with pytest.raises(ConfigError, match="'postgres'"):
        to_sql(lc_model, dialect="postgres")

"""Out-of-core training (issue 12, item 2): streamed in small batches, the model equals the
in-memory fit given the same pre-bin edges; bad Parquet input is refused by file, column and batch."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import test_service_postgres
from cli_helpers import flat, run
from lendscore import Scorecard, load
from lendscore.errors import SchemaError, TargetError
from lendscore.model.artifact import model_to_dict
from lendscore.outofcore import fit_parquet
from test_counts_fit import _same


@pytest.fixture(scope="module")
def lc_parquet(lending_club, tmp_path_factory):
    """The Lending Club training window as Parquet (categoricals as text), and the frame read back."""
    X = lending_club.X_train.copy()
    for c in X.columns:
        if not pd.api.types.is_numeric_dtype(X[c]) or pd.api.types.is_bool_dtype(X[c]):
            X[c] = X[c].astype(object).where(X[c].notna(), None).astype(object)
            X[c] = X[c].map(lambda v: None if v is None else str(v))
    X["bad"] = lending_club.y_train.to_numpy()
    path = tmp_path_factory.mktemp("ooc") / "lc.parquet"
    X.to_parquet(path, index=False, row_group_size=4_000)
    return path, pd.read_parquet(path)


@pytest.mark.parametrize("params", [{}, {"class_weight": "balanced", "max_rules": 2}])
def test_streamed_fit_equals_in_memory_fit_with_same_edges(lc_parquet, params):
    path, frame = lc_parquet
    streamed = fit_parquet(path, target="bad", model=Scorecard(**params), batch_size=2_500, sample_size=3_000)
    assert streamed.n_patterns_ > 0
    X, y = frame.drop(columns="bad"), frame["bad"].to_numpy()
    memory = Scorecard(**params).fit(X, y, prebin_splits=streamed.prebin_splits_)
    da, db = model_to_dict(streamed), model_to_dict(memory)
    assert da.pop("training_data")["n_rows"] == db.pop("training_data")["n_rows"] == len(y)
    for d in (da, db):
        d.pop("created_at")
    _same(da, db, 1e-8, "model")
    np.testing.assert_allclose(streamed.predict_proba(X), memory.predict_proba(X), atol=1e-12)


def test_reservoir_edges_are_deterministic_and_from_the_data(lc_parquet):
    path, frame = lc_parquet
    a = fit_parquet(path, target="bad", batch_size=5_000, sample_size=2_000, model=Scorecard(max_rules=0))
    b = fit_parquet(path, target="bad", batch_size=5_000, sample_size=2_000, model=Scorecard(max_rules=0))
    for c, edges in a.prebin_splits_.items():
        np.testing.assert_array_equal(edges, b.prebin_splits_[c])
        assert np.isin(edges, frame[c].to_numpy(dtype=float)).all()  # sample quantiles are data values


def test_missing_target_is_refused_naming_file(tmp_path):
    path = tmp_path / "no_target.parquet"
    pd.DataFrame({"x": [1.0, 2.0]}).to_parquet(path)
    with pytest.raises(SchemaError, match=r"no_target.parquet: target column 'bad' not found"):
        fit_parquet(path, target="bad")


def test_three_valued_target_is_refused_naming_batch(tmp_path):
    path = tmp_path / "three.parquet"
    pq.write_table(pa.table({"x": np.arange(30.0), "bad": [0, 1] * 10 + [2] * 10}), path, row_group_size=10)
    with pytest.raises(TargetError, match=r"three.parquet batch 2: target column 'bad' must have two values"):
        fit_parquet(path, target="bad", batch_size=10)


def test_type_change_between_files_is_refused_naming_file_column_batch(tmp_path):
    folder = tmp_path / "parts"
    folder.mkdir()
    pq.write_table(pa.table({"x": np.arange(20.0), "bad": [0, 1] * 10}), folder / "a.parquet")
    pq.write_table(pa.table({"x": [str(i) for i in range(20)], "bad": [0, 1] * 10}), folder / "b.parquet")
    with pytest.raises(SchemaError, match=r"b.parquet batch 0: column 'x' changes type from double to (large_)?string"):
        fit_parquet(folder, target="bad")


def test_cli_streaming_refuses_bad_input_and_writes_nothing(tmp_path, capsys):
    path = tmp_path / "three.parquet"
    pq.write_table(pa.table({"x": np.arange(30.0), "bad": [0, 1, 2] * 10}), path)
    out = tmp_path / "out"
    code, output = run(["train", str(path), "--target", "bad", "--streaming", "--out", str(out)], capsys)
    assert code != 0
    assert "three.parquet batch 0" in flat(output) and "'bad'" in output
    assert not out.exists()


def test_cli_streaming_trains_and_writes_the_model(lc_parquet, tmp_path, capsys):
    import lendscore

    path, frame = lc_parquet
    out = tmp_path / "model"
    code, output = run(["train", str(path), "--target", "bad", "--streaming", "--out", str(out)], capsys)
    assert code == 0, output
    assert "patterns" in output
    m = lendscore.load(out / "model.json")
    p = m.predict_proba(frame.drop(columns="bad"))[:, 1]
    from sklearn.metrics import roc_auc_score

    assert roc_auc_score(frame["bad"], p) > 0.65


@pytest.mark.parametrize("radix", [[5, 7, 3, 4], [5, 2**20, 2**20, 2**20, 7]], ids=["one code", "two codes"])
def test_pattern_sums_equal_pattern_counts_of_the_rows(radix):
    from lendscore.model.counts import PatternCounts, PatternSums

    rng = np.random.default_rng(3)
    n = 20_000
    digits = [rng.integers(0, min(r, 4), n) for r in radix]
    y = (rng.random(n) < 0.2).astype(np.uint8)
    sums = PatternSums(radix, merge_at=500)  # merged many times on the way
    assert len(sums.groups) == (1 if radix[1] == 7 else 2)
    for lo in range(0, n, 3_000):
        sums.add([d[lo : lo + 3_000] for d in digits], y[lo : lo + 3_000])
    names = [f"c{i}" for i in range(len(radix) - 1)]
    got = sums.result(names, fold=True, w_event=2.5, w_nonevent=0.5)
    w = np.where(y == 1, 2.5, 0.5)
    want = PatternCounts.from_rows(dict(zip(names, digits[1:], strict=True)), digits[0], y, w)
    assert len(got) == len(want) < n

    def table(p):
        cols = {"fold": p.fold, **p.index, "e": p.n_event, "t": p.n_total, "er": p.n_event_rows, "r": p.n_rows}
        return pd.DataFrame(cols).sort_values(["fold", *names], ignore_index=True)

    pd.testing.assert_frame_equal(table(got), table(want), check_dtype=False, rtol=1e-12)


def test_specials_missing_and_categories_stream_as_in_memory(tmp_path, monkeypatch):
    """Special codes (98), missing numbers and categories, merges of pattern sums on the way."""
    import lendscore.outofcore as ooc

    rng = np.random.default_rng(7)
    n = 12_000
    x = np.round(rng.gamma(2.0, 2.0, n)).clip(0, 30)  # integers, far below the 9s code
    x[rng.random(n) < 0.05] = 98.0
    x[rng.random(n) < 0.05] = np.nan
    k = rng.integers(0, 30, n).astype(float)
    cat = np.array(["a", "b", "c", "d"], dtype=object)[rng.integers(0, 4, n)]
    cat[rng.random(n) < 0.03] = None
    logit = -2.0 + 0.4 * np.nan_to_num(x, nan=3.0).clip(0, 6) - 0.05 * k + (cat == "a") * 0.8
    frame = pd.DataFrame({"x": x, "k": k, "cat": cat, "bad": (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)})
    path = tmp_path / "synthetic.parquet"
    frame.to_parquet(path, index=False, row_group_size=1_000)
    monkeypatch.setattr(ooc, "_MERGE_AT", 100)
    streamed = fit_parquet(path, target="bad", batch_size=1_500, sample_size=2_000, spill_dir=tmp_path)
    assert streamed.binnings_["x"].special_codes == [98.0]
    assert list(tmp_path.iterdir()) == [path]  # the spill file is gone
    X, y = frame.drop(columns="bad"), frame["bad"].to_numpy()
    memory = Scorecard().fit(X, y, prebin_splits=streamed.prebin_splits_)
    da, db = model_to_dict(streamed), model_to_dict(memory)
    for d in (da, db):
        d.pop("created_at"), d.pop("training_data")
    _same(da, db, 1e-8, "model")
    assert set(streamed.stream_seconds_) == {"sketch", "prebin_counts", "pattern_counts", "fit_from_counts"}


# ---------------------------------------------------------------- a SQL source, streamed
def _to_sqlite(frame: pd.DataFrame, path) -> str:
    import sqlalchemy as sa

    engine = sa.create_engine(f"sqlite:///{path}")
    frame.to_sql("loans", engine, index=False, chunksize=2_000)
    engine.dispose()
    return str(path)


def test_fit_sql_equals_the_parquet_fit_for_sqlite_and_duckdb(lc_parquet, tmp_path):
    """The rows of a query, fetched in batches (SQLite through SQLAlchemy, DuckDB through its Arrow
    reader), give the model the same rows give from Parquet (same reservoir, edges and folds)."""
    import duckdb

    from lendscore.outofcore import fit_sql

    path, frame = lc_parquet
    want = model_to_dict(fit_parquet(path, target="bad", batch_size=2_500, sample_size=3_000))
    want.pop("created_at")
    sqlite = _to_sqlite(frame, tmp_path / "loans.sqlite")
    db = tmp_path / "loans.duckdb"
    with duckdb.connect(str(db)) as con:
        con.register("frame", frame)
        con.execute("CREATE TABLE loans AS SELECT * FROM frame")
    for source in (sqlite, db):
        got = fit_sql(source, "SELECT * FROM loans", target="bad", batch_size=2_500, sample_size=3_000)
        doc = model_to_dict(got)
        doc.pop("created_at")
        _same(doc, want, 1e-12, str(source))


def test_fit_sql_refuses_a_column_whose_type_changes_between_batches(tmp_path):
    """SQLite's dynamic typing: numbers in the first batch, text in the second: refused by column and batch."""
    import sqlalchemy as sa

    from lendscore.outofcore import fit_sql

    source = tmp_path / "mixed.sqlite"
    engine = sa.create_engine(f"sqlite:///{source}")
    with engine.begin() as con:  # no declared type: the first 10 rows numbers, the rest text
        con.execute(sa.text("CREATE TABLE loans (x, bad)"))
        rows = [{"x": float(v) if v < 10 else f"v{v}", "bad": v % 2} for v in range(20)]
        con.execute(sa.text("INSERT INTO loans VALUES (:x, :bad)"), rows)
    engine.dispose()
    with pytest.raises(SchemaError, match=r"query batch 1: column 'x' changes type from double to (large_)?string"):
        fit_sql(source, "SELECT x, bad FROM loans ORDER BY rowid", target="bad", batch_size=10)


def test_cli_streaming_trains_from_a_sql_query(lc_parquet, tmp_path, capsys):
    """``train DB --sql ... --streaming``: the query's rows streamed, the model written."""
    _path, frame = lc_parquet
    source = _to_sqlite(frame, tmp_path / "loans.sqlite")
    out = tmp_path / "model"
    code, output = run(
        ["train", source, "--sql", "SELECT * FROM loans", "--target", "bad", "--streaming", "--out", str(out)], capsys
    )
    assert code == 0, output
    model = load(out / "model.json")
    assert model.data_fingerprint_["n_rows"] == len(frame)
    assert "out of core" in flat(output)


pg_url = test_service_postgres.pg_url  # the real PostgreSQL server of the audit-store tests


def test_fit_sql_streams_a_postgresql_query(pg_url, lc_parquet):
    """A query on a real PostgreSQL server, fetched by a server-side cursor in batches: the model
    the same rows give from Parquet."""
    import sqlalchemy as sa

    from lendscore.outofcore import fit_sql

    path, frame = lc_parquet
    engine = sa.create_engine(pg_url)
    frame.assign(rid=np.arange(len(frame))).to_sql("ooc_loans", engine, index=False, chunksize=2_000, method="multi")
    engine.dispose()
    names = ", ".join(f'"{c}"' for c in frame.columns)  # in file order: folds and the reservoir follow it
    want = model_to_dict(fit_parquet(path, target="bad", batch_size=2_500, sample_size=3_000))
    got = model_to_dict(
        fit_sql(
            pg_url, f"SELECT {names} FROM ooc_loans ORDER BY rid", target="bad", batch_size=2_500, sample_size=3_000
        )
    )
    for doc in (want, got):
        doc.pop("created_at")
    _same(got, want, 1e-12, "postgresql")

"""lendscore.spark on a local[2] Spark: the fit from Spark's counts equals the in-memory fit, its own
pre-bin edges obey the quantile sketch's rank bound, scoring by generated Spark SQL equals
score_details to 1e-9 on the bundled Lending Club data, and bad input is refused by column
before any job runs."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from lendscore import Scorecard
from lendscore import spark as ls
from lendscore.data import get_profile, load_bundled
from lendscore.errors import SchemaError, TargetError
from lendscore.model.artifact import model_to_dict
from lendscore.model.counts import fold_of_rows

pytestmark = pytest.mark.filterwarnings(
    # PySpark 4.3 warns on every pandas conversion that it does not fully support pandas 3
    "ignore:PySpark does not yet fully support pandas:FutureWarning"
)
PROFILE = get_profile("lending_club_2007_2011")
DERIVED = ["credit_age_months", "nth", "nth_ratio"]


@pytest.fixture(scope="session")
def spark():
    return ls.local_session("local[2]", {"spark.sql.shuffle.partitions": "2"})


def _orders(X: pd.DataFrame) -> dict[str, list[str]]:
    """The ordered pandas Categoricals' orders (sub-grade A1 < A2 < ...), which Spark cannot carry."""
    return {
        c: [str(v) for v in X[c].cat.categories]
        for c in X.columns
        if isinstance(X[c].dtype, pd.CategoricalDtype) and X[c].dtype.ordered
    }


@pytest.fixture(scope="module")
def train_df(spark, lending_club):
    """The training window as a Spark DataFrame: inputs, the target, and each row's in-memory fold."""
    X, y = lending_club.X_train, lending_club.y_train
    frame = X.assign(bad=y.to_numpy(), fold=fold_of_rows(len(X), 5))
    return spark.createDataFrame(frame).cache()


def _jobs_run(spark, call) -> tuple[int, BaseException | None]:
    """Spark jobs started by ``call()`` (in a job group of its own), and what it raised."""
    sc = spark.sparkContext
    group = f"lendscore-test-{id(call)}"
    sc.setJobGroup(group, "checking what a call runs")
    err = None
    try:
        call()
    except Exception as e:  # handed back to the test
        err = e
    finally:
        sc.setLocalProperty("spark.jobGroup.id", None)
    return len(sc.statusTracker().getJobIdsForGroup(group)), err


def test_fit_from_spark_counts_equals_the_in_memory_fit(train_df, lending_club):
    """Same pre-bin edges and folds: the same coefficients (1e-8) and the same model file, but for
    the training-data fingerprint (a hash of the counts: Spark never collects the rows)."""
    X, y = lending_club.X_train, lending_club.y_train
    ref = Scorecard().fit(X, y, inputs=PROFILE)
    got = ls.fit(
        train_df,
        "bad",
        fold_column="fold",
        prebin_splits=ls.prebin_edges(X, y),
        category_orders=_orders(X),
        inputs=PROFILE,
    )
    assert got.characteristics_ == ref.characteristics_
    np.testing.assert_allclose(got.coef_, ref.coef_, rtol=0, atol=1e-8)
    assert abs(got.intercept_ - ref.intercept_) < 1e-8
    np.testing.assert_allclose(got.coef_table_["std_err"], ref.coef_table_["std_err"], rtol=0, atol=1e-8)
    a, b = model_to_dict(ref), model_to_dict(got)
    differ = sorted(k for k in a if a[k] != b[k] and k != "created_at")
    assert differ == ["training_data"], differ
    assert a["training_data"]["n_rows"] == b["training_data"]["n_rows"] == len(X)
    assert 0 < got.n_patterns_ < len(X)
    assert list(got.spark_seconds_)[-1] == "fit" and min(got.spark_seconds_.values()) >= 0


def test_weighted_fit_from_spark_counts_equals_the_in_memory_fit(spark, lending_club):
    """Sample weights (some rows weigh nothing) times balanced class weights, in-sample WoE: the same
    model as the weighted in-memory fit from the same (weighted) pre-bin edges."""
    X, y = lending_club.X_train, lending_club.y_train
    w = np.random.default_rng(7).choice([0.0, 0.5, 1.0, 2.0], size=len(X))
    params = {"class_weight": "balanced", "woe_cv": 0, "max_rules": 2}
    ref = Scorecard(**params).fit(X, y, sample_weight=w)
    edges = ls.prebin_edges(X, y, model=Scorecard(**params), sample_weight=w)
    df = spark.createDataFrame(X.assign(bad=y.to_numpy(), weight=w))
    got = ls.fit(df, "bad", sample_weight="weight", prebin_splits=edges, category_orders=_orders(X), **params)
    assert got.characteristics_ == ref.characteristics_
    np.testing.assert_allclose(got.coef_, ref.coef_, rtol=0, atol=1e-8)
    assert abs(got.threshold_ - ref.threshold_) < 1e-9
    for c, b in ref.binnings_.items():  # weighted sums: Spark adds in another order (last bits)
        g = got.binnings_[c]
        assert (g.splits, g.categories, g.special_codes) == (b.splits, b.categories, b.special_codes), c
        np.testing.assert_allclose(
            np.r_[g.n_event, g.n_nonevent], np.r_[b.n_event, b.n_nonevent], rtol=1e-12, err_msg=c
        )
        np.testing.assert_allclose(g.woe, b.woe, rtol=0, atol=1e-9, err_msg=c)


def test_fit_with_spark_edges_and_hashed_folds(train_df, lending_club):
    """Spark's own pre-bin edges: all distinct values where there are at most max_prebins (as in
    memory), else quantiles within the sketch's rank bound; the model ranks the 2011 loans about as
    well as the in-memory one."""
    X, y = lending_club.X_train, lending_club.y_train
    err = 1e-3
    got = ls.fit(train_df.drop("fold"), "bad", category_orders=_orders(X), relative_error=err)
    ref = Scorecard().fit(X, y)
    assert len(got.prebin_splits_) == sum(pd.api.types.is_numeric_dtype(X[c]) for c in X.columns)
    probs = np.linspace(0.0, 1.0, 51)[1:-1]
    checked_quantiles = 0
    for c, edges in got.prebin_splits_.items():
        b = ref.binnings_[c]
        x = X[c].to_numpy(dtype=float)
        x = np.sort(x[~np.isnan(x) & ~np.isin(x, b.special_codes)])
        u = np.unique(x)
        if u.size <= 50:
            assert edges == u[1:].tolist(), c
            continue
        # each edge is some quantile's answer: its rank range meets [(p - err) n, (p + err) n]
        lo, hi = np.searchsorted(x, edges, "left"), np.searchsorted(x, edges, "right")
        for e, a, z in zip(edges, lo, hi, strict=True):
            near = [p for p in probs if a <= np.ceil((p + err) * len(x)) and z >= np.floor((p - err) * len(x))]
            assert near, (c, e)
        checked_quantiles += 1
    assert checked_quantiles >= 5
    auc = {
        name: roc_auc_score(lending_club.y_test, m.predict_proba(lending_club.X_test)[:, 1])
        for name, m in (("spark", got), ("memory", ref))
    }
    assert abs(auc["spark"] - auc["memory"]) < 0.01, auc


def _raw_2011(n: int) -> pd.DataFrame:
    raw = load_bundled("lending_club")
    rows = raw[raw["issue_d"] >= "2011-01-01"].sample(n, random_state=3).reset_index(drop=True)
    return rows.drop(columns=[c for c in DERIVED if c in rows.columns])


def test_score_by_spark_sql_equals_score_details(spark, lc_profile_model):
    """Raw 2011 applications (the derivation runs in the query): PD, score and points to 1e-9, the
    same grades, every input column kept (Lending Club's own ``grade`` beside ``lendscore_grade``)."""
    raw = _raw_2011(2000)
    ref = lc_profile_model.score_details(raw)
    sdf = spark.createDataFrame(raw.assign(row_id=np.arange(len(raw))))
    # toArrow, not toPandas: PySpark 4.3 passes pandas 3 a deprecated keyword there
    out = ls.score(sdf, lc_profile_model).orderBy("row_id").toArrow().to_pandas()
    assert list(out.columns[: len(raw.columns) + 1]) == [*raw.columns, "row_id"]
    assert (out["grade"].to_numpy() == raw["grade"].to_numpy()).all()
    for c in ref.columns:
        got = out[f"lendscore_{c}"].to_numpy()
        if c == "grade":
            assert (got == ref[c].to_numpy()).all()
        else:
            np.testing.assert_allclose(got, ref[c].to_numpy(dtype=float), rtol=0, atol=1e-9, err_msg=c)
    assert ref["pd"].nunique() > 100


@pytest.fixture(scope="module")
def lc_profile_model(lending_club):
    """A model trained through the Lending Club profile: its file declares the derivation."""
    return Scorecard().fit(lending_club.X_train, lending_club.y_train, inputs=PROFILE)


def test_missing_columns_are_refused_before_any_job(spark, train_df, lc_profile_model):
    n, err = _jobs_run(spark, lambda: ls.fit(train_df, "default_flag"))
    assert n == 0 and isinstance(err, SchemaError), err
    assert "'default_flag'" in str(err) and err.column == "default_flag"
    applicants = spark.createDataFrame(_raw_2011(20).drop(columns=["purpose"]))
    n, err = _jobs_run(spark, lambda: ls.score(applicants, lc_profile_model))
    assert n == 0 and isinstance(err, SchemaError), err
    assert "'purpose'" in str(err) and err.column == "purpose"


def test_a_target_of_more_than_two_values_is_refused_by_one_small_job(spark):
    frame = pd.DataFrame({"x": np.arange(30.0), "status": ["good", "bad", "late"] * 10})
    df = spark.createDataFrame(frame)
    n, err = _jobs_run(spark, lambda: ls.fit(df, "status"))
    assert isinstance(err, TargetError), err
    assert "'status'" in str(err) and "more than two values" in str(err)
    assert n <= 2  # the groupBy's stages; no summary, edges or counts job
    with_null = spark.createDataFrame(pd.DataFrame({"x": [1.0, 2.0, 3.0], "bad": [0.0, 1.0, None]}))
    with pytest.raises(TargetError, match="'bad' has 1 missing"):
        ls.fit(with_null, "bad")


def test_hashed_folds_follow_the_row_not_the_partitioning(train_df):
    """Without a fold column a row's fold is a hash of its values: the same however the rows are
    partitioned, and each of the five folds holds about a fifth of the rows."""
    cols = [c for c in train_df.columns if c != "fold"]
    key = ["int_rate", "revol_bal", "annual_inc", "loan_amnt", "dti"]  # a row's identity, near enough
    a = train_df.select(*key, ls.hashed_fold(cols, 5).alias("f")).toArrow().to_pandas()
    b = train_df.repartition(3).select(*key, ls.hashed_fold(cols, 5).alias("f")).toArrow().to_pandas()
    a, b = (t.sort_values([*key, "f"], kind="mergesort").reset_index(drop=True) for t in (a, b))
    pd.testing.assert_frame_equal(a, b)
    share = a["f"].value_counts(normalize=True)
    assert sorted(share.index) == [0, 1, 2, 3, 4]
    assert share.between(0.18, 0.22).all(), share


def test_without_pyspark_the_import_says_which_extra():
    code = (
        "import sys; sys.modules['pyspark'] = None\n"
        "try:\n    import lendscore.spark\nexcept ImportError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "pip install 'lendscore[spark]'" in out, out

"""The Scorecard estimator end to end on the bundled Lending Club data, its errors, and the
scikit-learn contract."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from lendscore import ConfigError, SchemaError, Scorecard, TargetError


def test_out_of_time_auc(lc_model, lending_club):
    pd_test = lc_model.predict_proba(lending_club.X_test)[:, 1]
    assert roc_auc_score(lending_club.y_test, pd_test) > 0.68
    assert lc_model.score(lending_club.X_test, lending_club.y_test) == pytest.approx(
        roc_auc_score(lending_club.y_test, pd_test)
    )


def test_predict_proba_rows_sum_to_one(lc_model, lending_club):
    proba = lc_model.predict_proba(lending_club.X_test)
    assert proba.shape == (len(lending_club.X_test), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-12)
    assert set(lc_model.predict(lending_club.X_test)) <= set(lc_model.classes_)


def test_score_details(lc_model, lending_club):
    d = lc_model.score_details(lending_club.X_test)
    points = ["points_" + c for c in lc_model.characteristics_]
    assert list(d.columns) == ["pd", "score", "grade", *points]
    np.testing.assert_allclose(d["score"], d[points].sum(axis=1), atol=1e-9)
    np.testing.assert_allclose(d["score"], lc_model.score(lending_club.X_test), atol=1e-9)
    np.testing.assert_allclose(d["pd"], lc_model.predict_proba(lending_club.X_test)[:, 1], rtol=1e-9)
    assert set(d["grade"]) <= {g["grade"] for g in lc_model.grades_}
    for c in lc_model.characteristics_:
        assert d["points_" + c].max() <= lc_model.max_points_[c] + 1e-9


def test_predict_one_equals_frame_path(lc_model, lending_club):
    rows = lending_club.X_test.sample(200, random_state=0)
    d = lc_model.score_details(rows)
    for (_, row), (_, det) in zip(rows.iterrows(), d.iterrows(), strict=True):
        one = lc_model.predict_one(row.to_dict())
        assert one["score"] == pytest.approx(det["score"], abs=1e-9)
        assert one["pd"] == pytest.approx(det["pd"], abs=1e-9)
        assert one["grade"] == det["grade"]
        for c, p in one["points"].items():
            assert p == pytest.approx(det["points_" + c], abs=1e-9)


def test_woe_coefficients_are_negative_after_sign_check(lc_model):
    assert np.all(lc_model.coef_[: lc_model.n_features_used_] < 0)


def test_selection_table_reasons(lc_model):
    sel = lc_model.selection_
    assert list(sel.columns) == ["feature", "iv", "selected", "reason"]
    assert set(sel["feature"]) == set(lc_model.feature_names_in_)
    assert (sel["selected"] == (sel["reason"] == "selected")).all()
    assert set(sel.loc[sel["selected"], "feature"]) == set(lc_model.selected_features_)
    pattern = re.compile(
        r"IV [\d.]+ < iv_min|\|corr\| [\d.]+ > corr_max|VIF [\d.]+ > vif_max|"
        r"contradicts its WoE trend|constant WoE"
    )
    for _, row in sel[~sel["selected"]].iterrows():
        assert pattern.search(row["reason"]), row["reason"]
        if row["reason"].startswith("IV "):
            assert row["iv"] < lc_model.iv_min


def _suppressor_data(seed=0, n=4000):
    """x2 is correlated with x1 and riskier on its own, but lowers the PD given x1."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n)
    x1 = z + 0.3 * rng.normal(size=n)
    x2 = z + 0.3 * rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(-1.5 + 2.0 * x1 - 1.0 * x2)))).astype(int)
    return pd.DataFrame({"x1": x1, "x2": x2}), y


SUPPRESSOR_PARAMS = dict(corr_max=1.0, vif_max=1e6, max_rules=0, woe_cv=0)


def test_sign_check_warn_warns():
    X, y = _suppressor_data()
    with pytest.warns(UserWarning, match="contradict the WoE trend"):
        m = Scorecard(sign_check="warn", **SUPPRESSOR_PARAMS).fit(X, y)
    assert (m.coef_ >= 0).any()


def test_sign_check_refit_drops_the_contradicting_characteristic():
    X, y = _suppressor_data()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = Scorecard(sign_check="refit", **SUPPRESSOR_PARAMS).fit(X, y)
    assert np.all(m.coef_ < 0)
    dropped = m.selection_[~m.selection_["selected"]]
    assert dropped["reason"].str.contains("sign check").any()


@pytest.fixture(scope="module")
def small(lending_club):
    idx = np.random.default_rng(0).choice(len(lending_club.X_train), 3000, replace=False)
    return lending_club.X_train.iloc[idx].reset_index(drop=True), lending_club.y_train.iloc[idx].reset_index(drop=True)


def test_target_with_three_values_is_refused(small):
    X, y = small
    y3 = y.copy()
    y3.iloc[:5] = 2
    with pytest.raises(TargetError, match=r"3 classes.*\b2\b"):
        Scorecard().fit(X, y3)


def test_single_class_target_is_refused(small):
    X, _ = small
    with pytest.raises(TargetError, match=r"only one class.*\b0\b"):
        Scorecard().fit(X, np.zeros(len(X), dtype=int))


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("sign_check", "maybe"),
        ("monotonic_trend", "wiggly"),
        ("class_weight", "heavy"),
        ("threshold", "youden"),
        ("max_n_bins", 1),
        ("C", -1.0),
    ],
)
def test_unknown_parameter_value_is_refused(small, param, value):
    X, y = small
    with pytest.raises(ConfigError, match=re.escape(repr(value))) as info:
        Scorecard(**{param: value}).fit(X, y)
    assert param in str(info.value)


@pytest.mark.parametrize("method", ["predict_proba", "predict", "score", "decision_function"])
def test_missing_column_at_predict_time_is_named(lc_model, lending_club, method):
    c = lc_model.selected_features_[0]
    with pytest.raises(SchemaError, match=re.escape(c)):
        getattr(lc_model, method)(lending_club.X_test.head(5).drop(columns=[c]))


def test_missing_column_in_score_details_is_named(lc_model, lending_club):
    c = lc_model.selected_features_[0]
    with pytest.raises(SchemaError, match=re.escape(c)):
        lc_model.score_details(lending_club.X_test.head(5).drop(columns=[c]))


def test_clone_and_pipeline(small):
    X, y = small
    est = Scorecard(max_n_bins=6, max_rules=0)
    c = clone(est)
    assert c.get_params() == est.get_params() and not hasattr(c, "coef_")
    pipe = Pipeline([("scorecard", c)]).fit(X, y)
    direct = Scorecard(max_n_bins=6, max_rules=0).fit(X, y)
    np.testing.assert_array_equal(pipe.predict_proba(X), direct.predict_proba(X))


def test_grid_search(small):
    X, y = small
    gs = GridSearchCV(Scorecard(max_rules=0, woe_cv=0), {"max_n_bins": [5, 10]}, cv=3).fit(X, y)
    assert gs.best_params_["max_n_bins"] in (5, 10)
    assert np.all((gs.cv_results_["mean_test_score"] > 0.5) & (gs.cv_results_["mean_test_score"] < 1))


def test_tiny_data_default_min_bin_size_allows_splits():
    x = np.arange(16, dtype=float)
    y = (x >= 8).astype(int)
    y[[0, 15]] = 1 - y[[0, 15]]
    m = Scorecard(iv_min=0.0, max_rules=0, woe_cv=0).fit(pd.DataFrame({"x": x}), y)
    assert m.binnings_["x"].n_bins > 3


def test_frame_with_integer_column_names():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(500, 2)))
    y = (rng.random(500) < 1 / (1 + np.exp(-2 * X[0]))).astype(int)
    m = Scorecard(max_rules=0, woe_cv=0).fit(X, y)
    assert m.predict_proba(X).shape == (500, 2)


# ---------------------------------------------------------------- scikit-learn estimator checks
_BY_DESIGN = {
    "check_class_weight_classifiers": "class_weight is None or 'balanced' only (by design); the check passes a dict",
    "check_classifier_not_supporting_multiclass": "binary only (by design); TargetError says "
    "'target must be binary (two classes)', not sklearn's wording",
}
_BUGS: dict[str, str] = {}
_TOY_DATA = {
    "check_sample_weight_equivalence_on_dense_data": "the check's toy data are separable, so the unpenalised maximum-likelihood fit does not "
    "exist and weighted and repeated-row fits stop at different points of a diverging path",
}


@parametrize_with_checks(
    [Scorecard(iv_min=0.0, max_rules=0, woe_cv=0, min_bin_size=2)],
    expected_failed_checks=lambda est: {**_BY_DESIGN, **_BUGS, **_TOY_DATA},
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_one_parameter_table():
    """__init__'s defaults, the estimator's validation and the TOML config all come from PARAMETERS."""
    import inspect

    from lendscore.config import ScorecardConfig
    from lendscore.model.params import PARAMETERS

    sig = inspect.signature(Scorecard.__init__).parameters
    assert set(sig) - {"self"} == set(PARAMETERS)
    for name, (_, field) in PARAMETERS.items():
        assert sig[name].default == field.default, name
    assert ScorecardConfig().estimator_params() == {k: f.default for k, (_, f) in PARAMETERS.items()}
    assert Scorecard(**ScorecardConfig().estimator_params()).get_params() == Scorecard().get_params()


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"rule_min_support": 0.7}, ["rule_min_support", "less than 0.5", "0.7"]),
        ({"min_gain": -1.0}, ["min_gain", "greater than or equal to 0", "-1.0"]),
        ({"monotonic_trend": {"dti": "wavy"}}, ["monotonic_trend", "wavy"]),
        ({"threshold": 1.5}, ["threshold", "PD in (0, 1)", "1.5"]),
        ({"grade_pd_bounds": (0.5, 0.2, 1.0)}, ["grade_pd_bounds", "increase strictly"]),
    ],
)
def test_bad_parameter_is_named_with_rule_and_value(params, words):
    from lendscore.errors import ConfigError

    X = pd.DataFrame({"a": np.arange(100.0)})
    y = np.arange(100) % 2
    with pytest.raises(ConfigError) as e:
        Scorecard(**params).fit(X, y)
    for w in words:
        assert w in str(e.value)

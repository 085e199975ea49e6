"""Fitting from counts (issue 12, item 1): the pattern-count fit equals the row-level fit, the
binning from pre-bin counts equals the binning of the raw column, and the final coefficients and
standard errors equal statsmodels' GLM on the rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lendscore import Scorecard
from lendscore.features.binning import detect_special_codes, fit_feature_binning
from lendscore.model.artifact import model_to_dict
from lendscore.model.counts import (
    PatternCounts,
    binning_from_counts,
    binning_options,
    fold_of_rows,
    prebin_counts,
    special_codes_from_summary,
    threshold_from_counts,
)
from lendscore.validation.metrics import choose_threshold

TOL = 1e-8


def gmsc_like(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Give-Me-Some-Credit-shaped rows: heavy-tailed utilisation, 96/98 codes on the delinquency
    counts, missing income, a small share of defaults driven by several columns."""
    rng = np.random.default_rng(seed)
    util = np.where(rng.random(n) < 0.02, rng.lognormal(2, 2, n), rng.beta(0.6, 1.2, n))
    age = rng.integers(21, 90, n).astype(float)
    late = rng.poisson(0.3, n).astype(float)
    late[rng.random(n) < 0.003] = 98.0
    late[rng.random(n) < 0.001] = 96.0
    debt = rng.lognormal(-1, 1.2, n)
    income = rng.lognormal(8.5, 0.6, n)
    income[rng.random(n) < 0.2] = np.nan
    lines = rng.poisson(8, n).astype(float)
    eta = -3.2 + 1.8 * np.minimum(util, 1.5) - 0.025 * (age - 50) + 0.9 * np.minimum(late, 5) + 0.2 * (debt > 1)
    eta += 1.5 * ((util > 0.9) & (age < 35)) - 1.0 * ((late == 0) & (debt > 2))
    eta += np.where(np.isnan(income), 0.3, -0.2 * (np.log(np.nan_to_num(income, nan=5000.0)) - 8.5))
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)
    X = pd.DataFrame(
        {"util": util, "age": age, "late": late, "debt_ratio": debt, "income": income, "open_lines": lines}
    )
    return X, y


class RowLevel(Scorecard):
    """The reference: the same code with one pattern per row (no compression)."""

    _compress_rows = False


def assert_same_model(a: Scorecard, b: Scorecard, tol: float = TOL) -> None:
    """The model files equal: structure exactly, every number to ``tol``."""
    da, db = model_to_dict(a), model_to_dict(b)
    for doc in (da, db):
        doc.pop("created_at", None)
    _same(da, db, tol, "model")


def _same(x, y, tol, where):
    if isinstance(x, dict):
        assert isinstance(y, dict) and set(x) == set(y), f"{where}: keys {sorted(set(x) ^ set(y))}"
        for k in x:
            _same(x[k], y[k], tol, f"{where}.{k}")
    elif isinstance(x, list):
        assert isinstance(y, list) and len(x) == len(y), f"{where}: lengths differ"
        for i, (u, v) in enumerate(zip(x, y, strict=True)):
            _same(u, v, tol, f"{where}[{i}]")
    elif isinstance(x, float) and not isinstance(x, bool):
        assert y == pytest.approx(x, rel=tol, abs=tol, nan_ok=True), f"{where}: {x} != {y}"
    else:
        assert x == y, f"{where}: {x!r} != {y!r}"


def test_patterns_are_fewer_than_rows_and_sum_to_them():
    X, y = gmsc_like(20_000, 1)
    m = Scorecard(max_rules=3).fit(X, y)
    index = {c: m.binnings_[c].bin_index(X[c]) for c in m.feature_names_in_}
    fold = fold_of_rows(len(y), m.woe_cv)
    p = PatternCounts.from_rows(index, fold, y)
    assert len(p) < len(y)
    few = PatternCounts.from_rows({c: index[c] for c in ("late", "age")}, fold, y)
    assert len(few) < 1_000 and few.n_total.sum() == len(y)
    assert p.n_total.sum() == len(y) and p.n_event.sum() == y.sum()
    # every pattern is distinct
    keys = pd.DataFrame({"fold": p.fold, **p.index})
    assert not keys.duplicated().any()


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"class_weight": "balanced", "threshold": "ks"},
        {"woe_cv": 0, "C": 0.5, "max_rules": 0},
    ],
)
def test_gmsc_like_counts_fit_equals_row_fit(params):
    X, y = gmsc_like(30_000, 7)
    counts = Scorecard(**params).fit(X, y)
    rows = RowLevel(**params).fit(X, y)
    assert counts.rules_ or params.get("max_rules") == 0  # the rule search ran on the counts
    np.testing.assert_allclose(counts.coef_table_["std_err"], rows.coef_table_["std_err"], rtol=TOL, atol=TOL)
    assert counts.threshold_ == rows.threshold_ and counts.threshold_rule_ == rows.threshold_rule_
    assert_same_model(counts, rows)


def test_sample_weights_counts_fit_equals_row_fit():
    X, y = gmsc_like(8_000, 3)
    w = np.random.default_rng(5).choice([0.0, 0.5, 1.0, 2.0], len(y))
    assert_same_model(Scorecard().fit(X, y, sample_weight=w), RowLevel().fit(X, y, sample_weight=w))


def test_lending_club_counts_fit_equals_row_fit(lending_club, lc_model):
    rows = RowLevel().fit(lending_club.X_train, lending_club.y_train)
    assert len(lc_model.selected_features_) >= 5
    assert_same_model(lc_model, rows)


def test_final_fit_equals_statsmodels_glm_with_frequency_weights():
    """Independent software: statsmodels' GLM on the pattern design with freq_weights gives the
    scorecard's coefficients and standard errors (those are the row-level ML fit's)."""
    sm = pytest.importorskip("statsmodels.api")
    X, y = gmsc_like(20_000, 11)
    m = Scorecard(max_rules=2).fit(X, y)
    names = list(m.feature_names_in_)
    index = {c: m.binnings_[c].bin_index(X[c]) for c in names}
    fold = fold_of_rows(len(y), m.woe_cv)
    W = m._fit_design(index, names, y.astype(float), np.ones(len(y)), fold)
    cols = [W[:, names.index(c)] for c in m.selected_features_]
    cols += [
        r.mask(index[r.feature_a], index[r.feature_b], m.binnings_[r.feature_a].n_bins, m.binnings_[r.feature_b].n_bins)
        for r in m.rules_
    ]
    design = pd.DataFrame(np.column_stack([np.ones(len(y)), *cols]).astype(float))
    # collapse to patterns of the design (events and non-events as two weighted rows each)
    design["y"] = y
    g = design.groupby(list(design.columns), as_index=False).size()
    res = sm.GLM(
        g["y"].to_numpy(),
        g.drop(columns=["y", "size"]).to_numpy(),
        family=sm.families.Binomial(),
        freq_weights=g["size"].to_numpy(),
    ).fit(tol=1e-12)
    np.testing.assert_allclose(m.coef_table_["coef"].to_numpy(), res.params, rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(m.coef_table_["std_err"].to_numpy(), res.bse, rtol=1e-6)


def test_fit_from_counts_equals_fit():
    """The public path: binnings from pre-bin counts, patterns from the rows, then fit_from_counts."""
    X, y = gmsc_like(20_000, 2)
    ref = Scorecard().fit(X, y)
    model = Scorecard()
    binnings = {}
    for c in X.columns:
        counts = prebin_counts(c, X[c], y, kind="numeric", max_prebins=model.max_prebins)
        binnings[c] = binning_from_counts(c, counts, **binning_options(model, c, float(len(y))))
        assert binnings[c] == ref.binnings_[c]
    index = {c: binnings[c].bin_index(X[c]) for c in X.columns}
    patterns = PatternCounts.from_rows(index, fold_of_rows(len(y), model.woe_cv), y)
    ranges = {c: (float(np.nanmin(X[c])), float(np.nanmax(X[c]))) for c in X.columns}
    model.fit_from_counts(binnings, patterns, training_ranges=ranges)
    da, db = model_to_dict(model), model_to_dict(ref)
    assert da.pop("training_data")["n_rows"] == db.pop("training_data")["n_rows"] == len(y)
    for d in (da, db):
        d.pop("created_at")
    _same(da, db, TOL, "model")
    np.testing.assert_allclose(model.predict_proba(X), ref.predict_proba(X), atol=1e-12)


def test_binning_from_counts_with_given_edges_equals_raw(lending_club):
    X, y = lending_club.X_train, lending_club.y_train.to_numpy()
    for c in ["annual_inc", "revol_util", "dti"]:
        edges = np.unique(np.nanquantile(X[c], np.linspace(0, 1, 33)[1:-1]))
        raw = fit_feature_binning(c, X[c], y, kind="numeric", prebin_splits=edges, min_bin_size=50, max_n_bins=8)
        counts = prebin_counts(c, X[c], y, kind="numeric", prebin_splits=edges)
        assert binning_from_counts(c, counts, min_bin_size=50, max_n_bins=8) == raw
    # edges with empty pre-bins (far outside the data) are joined to a neighbour, not an error
    x = X["dti"]
    edges = np.array([-100.0, -50.0, 5.0, 10.0, 20.0, 1e9])
    b = fit_feature_binning("dti", x, y, kind="numeric", prebin_splits=edges, min_bin_size=50)
    assert set(b.splits) <= {5.0, 10.0, 20.0}


def test_categorical_binning_from_counts_in_any_category_order(lending_club):
    X, y = lending_club.X_train, lending_club.y_train.to_numpy()
    c = "purpose"
    raw = fit_feature_binning(c, X[c], y, kind="categorical", min_bin_size=50)
    counts = prebin_counts(c, X[c], y, kind="categorical")
    perm = np.random.default_rng(0).permutation(len(counts.categories))
    shuffled = type(counts)(
        "categorical",
        counts.n_event[perm],
        counts.n_total[perm],
        categories=[counts.categories[i] for i in perm],
        missing=counts.missing,
    )
    assert binning_from_counts(c, shuffled, min_bin_size=50) == raw


def test_folds_drawn_in_chunks_are_the_folds_of_all_rows():
    whole = fold_of_rows(100_003, 5)
    rng = np.random.default_rng(0)
    parts = [fold_of_rows(k, 5, rng) for k in (1, 7, 65_536, 3, 34_456)]
    np.testing.assert_array_equal(np.concatenate(parts), whole)


@pytest.mark.parametrize("rule", ["f1", "ks"])
def test_threshold_from_counts_equals_choose_threshold(rule):
    rng = np.random.default_rng(4)
    p = rng.choice(np.linspace(0.01, 0.6, 40), 5_000)  # many ties, as patterns have
    y = (rng.random(5_000) < p).astype(int)
    frame = pd.DataFrame({"p": p, "y": y}).groupby("p")["y"].agg(["sum", "size"]).reset_index()
    got = threshold_from_counts(frame["p"].to_numpy(), frame["sum"].to_numpy(), frame["size"].to_numpy(), rule)
    assert got == choose_threshold(y, p, rule)


def test_special_codes_from_summary_equals_detection():
    rng = np.random.default_rng(1)
    for x in (
        np.r_[rng.integers(0, 10, 500), [96, 98, 98]].astype(float),
        np.r_[rng.integers(0, 60, 500), [98]].astype(float),  # 98 not far above the rest
        np.r_[rng.random(50), [98]],  # not integer-valued
        np.r_[rng.integers(0, 10, 50), [np.nan, 999]].astype(float),
    ):
        v = x[~np.isnan(x)]
        nines = [c for c in (96, 97, 98, 99, 996, 997, 998, 999) if (v == c).any()]
        rest = v[~np.isin(v, nines)]
        got = special_codes_from_summary(
            bool(np.all(v == np.round(v))), nines, float(rest.max()) if rest.size else None
        )
        assert got == detect_special_codes(x)


def test_bad_counts_are_refused():
    X, y = gmsc_like(3_000, 9)
    m = Scorecard(max_rules=0).fit(X, y)
    index = {c: m.binnings_[c].bin_index(X[c]) for c in X.columns}
    good = PatternCounts.from_rows(index, fold_of_rows(len(y), 5), y)
    with pytest.raises(ValueError, match="lacks characteristic 'age'"):
        Scorecard().fit_from_counts(
            m.binnings_, PatternCounts({"util": good.index["util"]}, good.fold, good.n_event, good.n_total)
        )
    with pytest.raises(ValueError, match="needs PatternCounts.fold"):
        Scorecard().fit_from_counts(m.binnings_, PatternCounts(good.index, None, good.n_event, good.n_total))
    bad = dict(good.index, age=good.index["age"] + 50)
    with pytest.raises(ValueError, match=r"index\['age'\] must be in"):
        Scorecard().fit_from_counts(m.binnings_, PatternCounts(bad, good.fold, good.n_event, good.n_total))
    with pytest.raises(ValueError, match="n_event <= n_total"):
        Scorecard().fit_from_counts(m.binnings_, PatternCounts(good.index, good.fold, good.n_total + 1, good.n_total))

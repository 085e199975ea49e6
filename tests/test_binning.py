"""Numeric and categorical binning: shapes, sizes, Missing/Special bins, unseen values, agreement
of the vectorised and single-value paths."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lendscore.features.binning import FeatureBinning, detect_special_codes, fit_feature_binning


def _event_rates(b: FeatureBinning) -> np.ndarray:
    """Event rate of the regular bins (Special and Missing excluded)."""
    k = b.n_bins - 2
    e = np.asarray(b.n_event[:k])
    n = e + np.asarray(b.n_nonevent[:k])
    return e / n


def _synthetic(seed: int, n: int = 2000):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(-1.5 + 0.8 * x)))).astype(float)
    return x, y


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(50, 1500),
    slope=st.floats(-2, 2),
    trend=st.sampled_from(["ascending", "descending"]),
)
def test_declared_trend_gives_strictly_monotone_event_rates(seed, n, slope, trend):
    rng = np.random.default_rng(seed)
    x = np.round(rng.normal(size=n), 2)
    y = (rng.random(n) < 1 / (1 + np.exp(-slope * x))).astype(float)
    if y.min() == y.max():
        y[0] = 1 - y[0]
    b = fit_feature_binning("x", x, y, kind="numeric", trend=trend, min_bin_size=0.05)
    diffs = np.diff(_event_rates(b))
    assert np.all(diffs > 0) if trend == "ascending" else np.all(diffs < 0)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    share=st.sampled_from([0.02, 0.05, 0.1, 0.2]),
    kind=st.sampled_from(["numeric", "categorical"]),
)
def test_min_bin_size_respected(seed, share, kind):
    rng = np.random.default_rng(seed)
    n = 1000
    if kind == "numeric":
        values = rng.exponential(size=n)
    else:
        values = pd.Series(rng.choice([f"c{i}" for i in range(30)], n), dtype=object)
    y = (rng.random(n) < 0.3).astype(float)
    b = fit_feature_binning(
        "v", values, y, kind=kind, trend="auto" if kind == "numeric" else "ascending", min_bin_size=share
    )
    k = b.n_bins - 2
    n_bin = np.asarray(b.n_event[:k]) + np.asarray(b.n_nonevent[:k])
    if k > 1:
        assert n_bin.min() >= share * n
    assert n_bin.sum() == n


def test_missing_and_special_values_get_their_own_bins():
    x, y = _synthetic(1)
    x = np.round(np.abs(x) * 10)  # integers 0 .. ~35
    x[:40] = np.nan
    x[40:70] = 98
    x[70:80] = 96
    b = fit_feature_binning("x", x, y, kind="numeric")
    assert b.special_codes == [96.0, 98.0]
    k = b.n_bins - 2
    assert b.n_event[k] + b.n_nonevent[k] == 40  # Special
    assert b.n_event[k + 1] + b.n_nonevent[k + 1] == 40  # Missing
    assert list(b.bin_index(np.array([np.nan, 96.0, 98.0]))) == [k + 1, k, k]
    assert b.labels()[k].startswith("Special") and b.labels()[k + 1] == "Missing"


def test_never_seen_missing_bin_is_kept_with_unseen_rule():
    x, y = _synthetic(2)
    b = fit_feature_binning("x", x, y, kind="numeric", special_codes=[])
    k = b.n_bins - 2
    assert b.woe[k] == 0.0 and b.woe[k + 1] == 0.0
    assert b.woe_rule[k:] == ["unseen", "unseen"]
    assert b.transform(np.array([np.nan]))[0] == 0.0


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (list(range(40)) + [96, 98], [96.0, 98.0]),  # > 2 x 39: far above the rest -> special
        (list(range(101)), []),  # 96 among values up to 100 -> an ordinary value
        (list(range(60)) + [96], []),  # 96 <= 2 x 59: not far enough above
        ([0.5, 1.5, 2.5, 98.0], []),  # not integer-valued
        ([96, 98], []),  # nothing else to compare with
        (list(range(10)) + [999, 9999], [999.0, 9999.0]),
    ],
)
def test_special_code_auto_detection(values, expected):
    assert detect_special_codes(np.array(values, dtype=float)) == expected


@pytest.mark.parametrize("kind", ["numeric", "categorical"])
def test_fit_is_deterministic(kind):
    rng = np.random.default_rng(3)
    n = 3000
    values = rng.gamma(2.0, size=n) if kind == "numeric" else rng.choice(list("abcdefghij"), n)
    y = (rng.random(n) < 0.2).astype(float)
    a = fit_feature_binning("v", values, y, kind=kind)
    b = fit_feature_binning("v", values.copy(), y.copy(), kind=kind)
    assert a.to_dict() == b.to_dict()


def test_categorical_unseen_and_missing():
    rng = np.random.default_rng(4)
    n = 2000
    cats = rng.choice(["rent", "own", "mortgage", "other"], n, p=[0.4, 0.1, 0.4, 0.1])
    y = (rng.random(n) < np.where(cats == "rent", 0.3, 0.1)).astype(float)
    values = pd.Series(cats, dtype=object)
    values[:25] = None
    b = fit_feature_binning("home", values, y, kind="categorical")
    k = b.n_bins - 2
    assert sorted(c for g in b.categories for c in g) == ["mortgage", "other", "own", "rent"]
    assert b.n_event[k] + b.n_nonevent[k] == 0  # nothing is unseen in training
    assert b.n_event[k + 1] + b.n_nonevent[k + 1] == 25
    idx = b.bin_index(pd.Series(["boat", None, "rent", np.nan]))
    assert list(idx) == [k, k + 1, b.index_of("rent"), k + 1]
    assert b.index_of("boat") == k and b.index_of(None) == k + 1
    assert b.labels()[k] == "Unseen category"
    assert b.transform(pd.Series(["boat"]))[0] == b.woe[k]


def test_ordered_categorical_bins_are_runs_of_adjacent_categories():
    """Sub-grades A1..G5: the event rate rises with the order but with noise, so a nominal binning
    (categories sorted by event rate) would pair non-adjacent grades; an ordered one may not."""
    rng = np.random.default_rng(7)
    order = [f"{g}{i}" for g in "ABCDEFG" for i in range(1, 6)]
    n = 20_000
    k = rng.integers(0, len(order), n)
    rate = 0.03 + 0.25 * k / len(order) + rng.normal(0.0, 0.03, len(order))[k]
    y = (rng.random(n) < rate).astype(float)
    values = pd.Series(pd.Categorical(np.array(order)[k], categories=order, ordered=True))
    b = fit_feature_binning("sub_grade", values, y, kind="categorical")
    flat = [c for g in b.categories for c in g]
    assert flat == order  # every category once, in order: bins are runs
    assert b.trend == "ascending"
    event_rate = np.array(b.n_event[:-2]) / (np.array(b.n_event[:-2]) + np.array(b.n_nonevent[:-2]))
    assert np.all(np.diff(event_rate) > 0)
    nominal = fit_feature_binning("sub_grade", values.astype(str), y, kind="categorical")
    runs = [[order.index(c) for c in g] for g in nominal.categories]
    assert any(max(r) - min(r) + 1 != len(r) for r in runs)  # the nominal fit does pair distant grades
    assert list(b.bin_index(pd.Series(["A1", "G5", None]))) == [0, len(b.categories) - 1, b.n_bins - 1]


@pytest.mark.parametrize("ordered", [True, False])
def test_categorical_dtype_bins_as_its_text(ordered):
    rng = np.random.default_rng(5)
    cats = ["A", "B", "C", "D"]
    values = pd.Series(rng.choice(cats, 3_000))
    y = (rng.random(3_000) < np.where(values == "A", 0.4, 0.1)).astype(float)
    b = fit_feature_binning("x", values, y, kind="categorical")
    new = pd.Series(["C", None, "Z", "A", "B", None, "D"], dtype=object)
    as_category = pd.Series(pd.Categorical(new, categories=["D", "Z", "C", "B", "A", "unused"], ordered=ordered))
    assert as_category.isna().sum() == 2
    np.testing.assert_array_equal(b.bin_index(as_category), b.bin_index(new))
    empty = fit_feature_binning("x", pd.Series([None] * 50, dtype=object), y[:50], kind="categorical")
    np.testing.assert_array_equal(empty.bin_index(as_category), empty.bin_index(new))


def test_round_trip_through_dict():
    x, y = _synthetic(5)
    b = fit_feature_binning("x", x, y, kind="numeric")
    c = FeatureBinning.from_dict(b.to_dict())
    np.testing.assert_array_equal(b.bin_index(x), c.bin_index(x))


@pytest.fixture(scope="module")
def numeric_binning():
    x, y = _synthetic(6, 5000)
    x = np.round(x, 1)
    x[:50] = 99  # x up to ~4, 99 far above -> special
    return fit_feature_binning("x", x, y, kind="numeric")


@pytest.fixture(scope="module")
def categorical_binning():
    rng = np.random.default_rng(7)
    cats = rng.choice([f"k{i}" for i in range(12)], 4000)
    y = (rng.random(4000) < 0.1 + 0.02 * np.char.str_len(cats)).astype(float)
    return fit_feature_binning("c", pd.Series(cats), y, kind="categorical", min_bin_size=0.02)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.one_of(
            st.floats(allow_nan=True, allow_infinity=True),
            st.floats(-4, 4).map(lambda v: round(v, 1)),
            st.sampled_from([99.0, np.nan, None]),
            st.integers(-5, 5),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_numeric_bin_index_agrees_with_index_of(numeric_binning, values):
    b = numeric_binning
    values = values + [float(s) for s in b.splits]  # split points exactly
    vec = b.bin_index(pd.Series(values, dtype=object).astype(float))
    one = [b.index_of(v) for v in values]
    assert list(vec) == one


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.one_of(
            st.sampled_from([f"k{i}" for i in range(14)]),
            st.text(max_size=3),
            st.none(),
            st.just(np.nan),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_categorical_bin_index_agrees_with_index_of(categorical_binning, values):
    b = categorical_binning
    vec = b.bin_index(pd.Series(values, dtype=object))
    assert list(vec) == [b.index_of(v) for v in values]


def test_pd_na_is_missing_in_both_paths(numeric_binning, categorical_binning):
    for b in (categorical_binning, numeric_binning):
        k = b.n_bins - 2
        assert b.index_of(pd.NA) == k + 1


def _unimodal_brute_force(e, n, up):
    """The turning point by trying every split (the quadratic search the linear one replaced)."""
    from lendscore.features._merge import _pava, log_likelihood

    best_ll, best = None, None
    for t in range(1, len(e)):
        blocks = _pava(list(e[:t]), list(n[:t]), 0, up) + _pava(list(e[t:]), list(n[t:]), t, not up)
        plan = [(int(b[2]), int(b[3])) for b in blocks]
        ll = log_likelihood(plan, e, n)
        if best_ll is None or ll > best_ll + 1e-9 * (abs(best_ll) + 1.0):
            best_ll, best = ll, plan
    return best_ll, best


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("trend", ["peak", "valley"])
def test_unimodal_plan_matches_brute_force_search(seed, trend):
    from lendscore.features._merge import _shape_plan, log_likelihood

    rng = np.random.default_rng(seed)
    m = int(rng.integers(2, 40))
    n = rng.integers(1, 200, m).astype(float)
    rate = np.clip(0.3 - 0.002 * (np.arange(m) - m / 2) ** 2 * (1 if trend == "peak" else -1), 0.01, 0.9)
    e = rng.binomial(n.astype(int), rate).astype(float)
    if seed % 4 == 0:  # exact ties in event rate, where the strict fit must merge
        e[: m // 2] = n[: m // 2] * 0.5 // 1
        n[: m // 2] = 2 * e[: m // 2] + 0.0
        n[n == 0] = 2.0
    best_ll, best = _unimodal_brute_force(e, n, trend == "peak")
    plan = _shape_plan(e, n, trend)
    assert log_likelihood(plan, e, n) == pytest.approx(best_ll, rel=1e-12, abs=1e-9)
    assert plan == best


def test_scalar_bin_lookup_is_the_twin_of_the_vectorised_one():
    """``index_of`` (one value, the one-applicant path) and ``bin_index`` (a column) agree on every
    value: inside bins, on split points, special codes, NaN/None, unseen and missing categories."""
    rng = np.random.default_rng(11)
    x = np.concatenate([rng.normal(size=3000), [96.0, 98.0] * 50, [np.nan] * 40])
    y = (rng.uniform(size=x.size) < 0.2).astype(int)
    b = fit_feature_binning(
        "x",
        pd.Series(x),
        y,
        kind="numeric",
        trend="auto",
        special_codes=[96.0, 98.0],
        max_prebins=30,
        min_bin_size=50,
        max_n_bins=8,
        min_gain=0.0,
        shape_penalty=20.0,
    )
    probe = np.concatenate([x[:500], b.splits, np.nextafter(b.splits, -np.inf), [96.0, 98.0, np.nan, -1e300, 1e300]])
    assert [b.index_of(v) for v in probe] == b.bin_index(pd.Series(probe)).tolist()
    assert b.index_of(None) == b.n_bins - 1
    cats = pd.Series(rng.choice(list("abcdefg"), size=2000))
    bc = fit_feature_binning(
        "c",
        cats,
        (rng.uniform(size=2000) < 0.3).astype(int),
        kind="categorical",
        trend="auto",
        special_codes=[],
        max_prebins=30,
        min_bin_size=50,
        max_n_bins=5,
        min_gain=0.0,
        shape_penalty=20.0,
    )
    values = ["a", "g", "zzz", None, "b"]
    assert [bc.index_of(v) for v in values] == bc.bin_index(pd.Series(values, dtype=object)).tolist()

"""The penalised scorecard form: fine bins whose log-odds are fitted with a fusion penalty."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import special

from lendscore import Scorecard
from lendscore.errors import ConfigError
from lendscore.model import _penalised as pen
from lendscore.model.counts import PatternCounts, fold_of_rows


@pytest.fixture(scope="module")
def small(lending_club):
    idx = np.random.default_rng(1).choice(len(lending_club.X_train), 4000, replace=False)
    return lending_club.X_train.iloc[idx].reset_index(drop=True), lending_club.y_train.iloc[idx].reset_index(drop=True)


@pytest.fixture(scope="module")
def model(small):
    X, y = small
    return Scorecard(form="penalised").fit(X, y)


def test_monotone_trend_is_a_constraint_on_the_fine_bins(model):
    checked = 0
    for c in model.selected_features_:
        b = model.binnings_[c]
        reg = np.asarray(b.log_odds[: b.n_bins - 2])
        assert len(b.log_odds) == b.n_bins
        if b.trend == "ascending":
            assert np.all(np.diff(reg) >= -1e-9), c
            checked += 1
        elif b.trend == "descending":
            assert np.all(np.diff(reg) <= 1e-9), c
            checked += 1
    assert checked >= 2


def test_scoring_doors_agree(model, small):
    X, _ = small
    frame = model.score_details(X.head(50))
    for i in range(50):
        one = model.predict_one({k: (None if pd.isna(v) else v) for k, v in X.iloc[i].items()})
        assert one["score"] == pytest.approx(frame["score"].iloc[i], abs=1e-9)
    z = model.decision_function(X.head(50))
    assert np.allclose(special.expit(z), frame["pd"])


def test_model_file_round_trip(model, small, tmp_path):
    import lendscore

    X, _ = small
    model.save(tmp_path / "m.json")
    back = lendscore.load(tmp_path / "m.json")
    assert back.form == "penalised"
    assert np.array_equal(back.predict_proba(X), model.predict_proba(X))


def test_inference_says_what_a_penalised_fit_has(model):
    t = model.coef_table_
    chars = t.loc[model.selected_features_]
    assert chars["p_value"].isna().all()  # no classical p-value for a penalised fit
    assert (chars["edf"] > 0).all()
    assert t["penalised"].all()
    assert np.isfinite(chars["drop_one_deviance"]).all()
    assert model.penalty_ in model.penalty_scores_
    assert model.penalty_scores_[model.penalty_] == min(model.penalty_scores_.values())


def test_tiny_penalty_recovers_each_bins_empirical_log_odds():
    """One free characteristic, negligible penalty: every bin's fitted log-odds minus the first
    bin's is the difference of the bins' empirical logits (closed form, independent of the
    solver)."""
    rng = np.random.default_rng(0)
    b = rng.integers(0, 5, 20_000)
    y = (rng.random(20_000) < special.expit(-2 + 0.3 * b - 0.1 * (b == 3))).astype(float)
    idx = np.where(rng.random(20_000) < 0.05, 6, b)  # Missing bin (6); Special (5) empty
    data = pen.Compressed.from_patterns(PatternCounts.from_rows({"x": idx}, None, y), ["x"])
    counts = np.bincount(idx, minlength=7).astype(float)
    m = pen.Additive.build([7], ["none"], [counts], 0)
    params, ok = pen.fit_additive(m, data, 1e-8)
    assert ok
    _, (theta,), _ = m.split(params)
    e = np.bincount(idx, weights=y, minlength=7)
    emp = special.logit(e[counts > 0] / counts[counts > 0])
    fit = theta[counts > 0]
    assert np.allclose(fit - fit[0], emp - emp[0], atol=1e-4)
    assert theta[5] == pytest.approx(0.0, abs=1e-6)  # an empty Special bin scores the average


def test_bigger_penalty_fuses_adjacent_bins():
    rng = np.random.default_rng(0)
    b = rng.integers(0, 10, 5000)
    y = (rng.random(5000) < 0.2).astype(float)
    data = pen.Compressed.from_patterns(PatternCounts.from_rows({"x": b}, None, y), ["x"])
    m = pen.Additive.build([12], ["none"], [np.bincount(b, minlength=12).astype(float)], 0)
    spread = [np.ptp(m.split(pen.fit_additive(m, data, lam)[0])[1][0][:10]) for lam in (0.01, 10.0, 1000.0)]
    assert spread[0] > spread[1] > spread[2]


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"form": "smooth"}, ["form", "classic", "penalised", "smooth"]),
        ({"penalty": -1.0}, ["penalty", "-1.0"]),
        ({"penalty": 0.0}, ["penalty", "> 0", "0.0"]),
    ],
)
def test_bad_setting_is_refused_with_name_rule_and_value(params, words):
    X = pd.DataFrame({"a": np.arange(100.0)})
    with pytest.raises(ConfigError) as e:
        Scorecard(**params).fit(X, np.arange(100) % 2)
    for w in words:
        assert w in str(e.value)


def _two_characteristics(n=6000, seed=3):
    """Patterns of two binned characteristics (the first with a rising true trend) and a model
    whose first characteristic is constrained ascending."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 8, n)
    b = rng.integers(0, 6, n)
    a = np.where(rng.random(n) < 0.05, 9, a)  # some Missing
    z = -2.0 + 0.15 * np.minimum(a, 7) - 0.4 * (b == 2) - 0.8 * (a == 4)
    y = (rng.random(n) < special.expit(z)).astype(float)
    data = pen.Compressed.from_patterns(PatternCounts.from_rows({"a": a, "b": b}, None, y), ["a", "b"])
    counts = [np.bincount(a, minlength=10).astype(float), np.bincount(b, minlength=8).astype(float)]
    return pen.Additive.build([10, 8], ["ascending", "none"], counts, 0), data


def test_newton_reaches_the_optimum_scipy_lbfgsb_finds():
    """The bound-constrained Newton fit against an independent solver (scipy's L-BFGS-B, run to
    a tight tolerance) on the same penalised likelihood, written out here from the bases."""
    from scipy import optimize

    model, data = _two_characteristics()
    lam = 3.0
    pw = model.penalty_weights(lam)
    X = np.column_stack([np.ones(len(data.e))] + [B[data.idx[:, j]] for j, B in enumerate(model.bases)])

    def f(x):
        eta = X @ x
        return (
            float(np.sum(data.t * np.logaddexp(0, eta) - data.e * eta) + np.sum(pw * x * x)),
            X.T @ (data.t * special.expit(eta) - data.e) + 2 * pw * x,
        )

    ref = optimize.minimize(
        f,
        np.zeros(model.n_params),
        jac=True,
        method="L-BFGS-B",
        bounds=[(None, None), *model.bounds],
        options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 20000},
    )
    got, ok = pen.fit_additive(model, data, lam)
    assert ok
    assert f(got)[0] <= ref.fun + 1e-6
    np.testing.assert_allclose(X @ got, X @ ref.x, atol=2e-4)
    _, (theta, _), _ = model.split(got)
    assert np.all(np.diff(theta[:8]) >= -1e-12)  # the ascending bound holds
    assert np.sum(np.isclose(np.diff(theta[:8]), 0.0, atol=1e-10)) >= 1  # and binds (bin 4 dips)


def test_edf_is_the_trace_of_the_penalised_hat_matrix():
    """Without bounds (both characteristics free), edf per characteristic is its block of
    trace((X'VX + P)^-1 X'VX), computed here on the dense pattern design."""
    model, data = _two_characteristics()
    model = pen.Additive.build([10, 8], ["none", "none"], [np.ones(10), np.ones(8)], 0)
    lam = 2.0
    design = pen.Design(model, data)
    params, ok, H = pen.newton(design, lam)
    assert ok
    X = np.column_stack([np.ones(len(data.e))] + [B[data.idx[:, j]] for j, B in enumerate(model.bases)])
    p = special.expit(X @ params)
    XtVX = X.T @ (X * (data.t * p * (1 - p))[:, None])
    np.testing.assert_allclose(H, XtVX, rtol=1e-9, atol=1e-8)
    S = np.diag(np.linalg.solve(XtVX + np.diag(2 * model.penalty_weights(lam)), XtVX))
    got = pen.edf_by_term(design, params, H, lam)
    np.testing.assert_allclose(got, [S[1:10].sum(), S[10:].sum()], rtol=1e-9)
    assert 0 < got[1] < 7  # shrunk below the free count of parameters


def test_penalty_by_cross_validation_and_fixed(small):
    X, y = small
    cv = Scorecard(form="penalised", penalty="cv", max_rules=0).fit(X, y)
    assert cv.penalty_scores_[cv.penalty_] == min(cv.penalty_scores_.values())
    assert len(cv.penalty_scores_) == len(pen.PENALTY_GRID)
    fixed = Scorecard(form="penalised", penalty=0.01, max_rules=0).fit(X, y)
    assert fixed.penalty_scores_ == {}
    assert fixed.penalty_ == pytest.approx(0.01 * float(np.mean(y)) * (1 - float(np.mean(y))) * len(y))


def test_penalised_form_from_counts_is_refused_naming_the_form(small):
    X, y = small
    classic = Scorecard(max_rules=0).fit(X, y)
    index = {c: classic.binnings_[c].bin_index(X[c]) for c in classic.selected_features_}
    patterns = PatternCounts.from_rows(index, fold_of_rows(len(y), 5), y.to_numpy())
    binnings = {c: classic.binnings_[c] for c in classic.selected_features_}
    with pytest.raises(ConfigError, match="form='penalised' needs the training rows"):
        Scorecard(form="penalised").fit_from_counts(binnings, patterns)


def test_sql_export_scores_the_fine_bins_as_python(model, small):
    """The exported query (DuckDB) gives the penalised model's PD and points, fine bins and all."""
    import duckdb

    from lendscore.model.sql import to_sql

    X, _ = small
    frame = X.head(400).assign(app_id=np.arange(400))
    con = duckdb.connect()
    con.register("applicants", frame)
    got = con.execute(to_sql(model, id_column="app_id")).df().sort_values("app_id").reset_index(drop=True)
    ref = model.score_details(frame.drop(columns="app_id"))
    np.testing.assert_allclose(got["pd"], ref["pd"].to_numpy(), rtol=0, atol=1e-9)
    for c in model.characteristics_:
        np.testing.assert_allclose(got["points_" + c], ref["points_" + c].to_numpy(), rtol=0, atol=1e-9)

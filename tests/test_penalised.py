"""The penalised scorecard form: fine bins whose log-odds are fitted with a fusion penalty."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import special

from lendscore import Scorecard
from lendscore.errors import ConfigError
from lendscore.model import _penalised as pen


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
    assert model.penalty_ in model.penalty_cv_


def test_tiny_penalty_recovers_each_bins_empirical_log_odds():
    """One free characteristic, negligible penalty: every bin's fitted log-odds minus the first
    bin's is the difference of the bins' empirical logits (closed form, independent of the
    solver)."""
    rng = np.random.default_rng(0)
    b = rng.integers(0, 5, 20_000)
    y = (rng.random(20_000) < special.expit(-2 + 0.3 * b - 0.1 * (b == 3))).astype(float)
    idx = np.where(rng.random(20_000) < 0.05, 6, b)  # Missing bin (6); Special (5) empty
    data = pen.compress([idx], [], y, np.ones_like(y), 1)
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
    data = pen.compress([b], [], y, np.ones_like(y), 1)
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

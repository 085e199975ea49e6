"""Retraining: the rules (strict pydantic), the comparison steps, the registry outcome, and the
challenger packaged like a trained model (inputs section, typed metadata) and written only on success."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pydantic
import pytest

import lendscore
from lendscore.data.derivation import input_spec_for
from lendscore.errors import ArtifactError, ConfigError, DataError
from lendscore.monitoring import Registry, RetrainRules, compare_models, retrain

PARAMS = {"max_rules": 0, "woe_cv": 0}


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(3)
    n = 6000
    time = pd.Series(pd.to_datetime("2020-01-01") + pd.to_timedelta(np.sort(rng.uniform(0, 730, n)), "D"))
    x1 = rng.normal(size=n)
    x2 = rng.choice(["a", "b", "c"], n)
    late = (time >= "2021-01-01").to_numpy()
    beta = np.where(late, 1.4, 0.3)  # the relation changes in 2021: a model refit on 2021 data ranks better
    y = (rng.random(n) < 1 / (1 + np.exp(2.0 - beta * x1 - 0.5 * (x2 == "c")))).astype(int)
    return pd.DataFrame({"x1": x1, "x2": x2}), pd.Series(y), time


def test_rules_are_strict():
    with pytest.raises(pydantic.ValidationError):
        RetrainRules(max_auc_dorp=0.02)
    with pytest.raises(pydantic.ValidationError):
        RetrainRules(max_auc_drop=-0.1)
    assert RetrainRules().max_csi == 0.25


def test_retrain_promotes_and_records(data, tmp_path):
    X, y, t = data
    reg = Registry(tmp_path / "reg")
    old = (t < "2020-07-01").to_numpy()
    champ_path = tmp_path / "champ.json"
    lendscore.Scorecard(**PARAMS).fit(X[old], y[old]).save(champ_path)
    reg.register(champ_path, by="t")
    reg.promote("v1", by="t")
    rules = RetrainRules(calibration_tolerance=0.05, min_oot_rows=200)
    res = retrain(
        X,
        y,
        t,
        train_window=("2021-01-01", "2021-09-30"),
        oot_window=("2021-10-01", "2021-12-31"),
        model_path=tmp_path / "challenger.json",
        registry=reg,
        rules=rules,
        params=PARAMS,
        by="robot",
    )
    steps = {s["step"]: s for s in res.decision.steps}
    assert list(steps) == ["oot_sample", "auc", "calibration", "stability"]
    assert steps["auc"]["value"] > 0  # challenger ranks better on the new relation
    assert res.decision.promote and res.promoted and res.version == "v2"
    assert reg.champion()[0] == "v2" and reg.get("v1")["state"] == "retired"
    entry = reg.get("v2")
    assert entry["retrain"]["steps"] == res.decision.steps
    assert entry["training_window"] == {"start": "2021-01-01", "end": "2021-09-30"}
    assert "retrain:" in reg.history()[-1]["why"]
    # the challenger file carries its monitoring reference
    assert "monitoring_reference" in lendscore.load(tmp_path / "challenger.json").metadata_


def test_failed_rule_keeps_champion(data, tmp_path):
    X, y, t = data
    reg = Registry(tmp_path / "reg")
    champ = tmp_path / "champ.json"
    lendscore.Scorecard(**PARAMS).fit(X[(t < "2021-07-01").to_numpy()], y[(t < "2021-07-01").to_numpy()]).save(champ)
    reg.register(champ)
    reg.promote("v1")
    rules = RetrainRules(calibration_tolerance=1e-9, min_oot_rows=200)
    res = retrain(
        X,
        y,
        t,
        train_window=("2020-01-01", "2020-06-30"),
        oot_window=("2021-10-01", "2021-12-31"),
        model_path=tmp_path / "c.json",
        registry=reg,
        rules=rules,
        params=PARAMS,
    )
    assert not res.promoted and not res.decision.promote
    assert "calibration" in res.decision.summary
    assert reg.champion()[0] == "v1" and reg.get("v2")["state"] == "candidate"


def test_compare_small_sample_and_unexplained_shift(data):
    X, y, t = data
    early = (t < "2020-07-01").to_numpy()
    m = lendscore.Scorecard(**PARAMS).fit(X[early], y[early])
    d = compare_models(m, m, X.head(50), y.head(50), RetrainRules())
    assert not d.promote and d.steps[0]["step"] == "oot_sample" and d.steps[0]["passed"] is False
    shifted = X.assign(x1=X["x1"] + 3)
    rules = RetrainRules(min_oot_rows=100, calibration_tolerance=1.0)
    d = compare_models(m, m, shifted, y, rules)
    stab = d.steps[-1]
    assert stab["step"] == "stability" and stab["passed"] is False and "x1" in stab["detail"]
    d = compare_models(m, m, shifted, y, rules.model_copy(update={"explained_shifts": ["x1"]}))
    assert d.steps[-1]["passed"] is True and d.promote
    d = compare_models(None, m, X, y, rules)
    assert d.steps[1]["passed"] is None and "no champion" in d.steps[1]["detail"]


def test_windows_must_not_overlap(data, tmp_path):
    X, y, t = data
    with pytest.raises(ConfigError, match="oot_window"):
        retrain(
            X,
            y,
            t,
            train_window=("2020-01-01", "2021-06-30"),
            oot_window=("2021-03-01", "2021-12-31"),
            model_path=tmp_path / "c.json",
            params=PARAMS,
        )


def test_challenger_is_packaged_like_a_trained_model(data, tmp_path):
    X, y, t = data
    spec = input_spec_for(
        {"x1": "numeric", "x2": "categorical"}, bounds={"x1": (-10.0, 10.0)}, ignored={"branch": "not a credit factor"}
    )
    res = retrain(
        X,
        y,
        t,
        train_window=("2021-01-01", "2021-09-30"),
        oot_window=("2021-10-01", "2021-12-31"),
        model_path=tmp_path / "c.json",
        params=PARAMS,
        inputs=spec,
        source="loans.csv",
        target="bad",
        rules=RetrainRules(min_oot_rows=200, calibration_tolerance=1.0),
    )
    assert res.decision.steps[1]["passed"] is None  # no champion
    m = lendscore.load(tmp_path / "c.json")
    assert m.inputs_ == spec  # the declared inputs are written into the file: its value rules apply
    with pytest.raises(DataError, match=r"x1 must be in \[-10, 10\]"):
        m.predict_one({"x1": 11.0, "x2": "a"})
    meta = m.metadata_
    assert meta["training_window"] == {"start": "2021-01-01", "end": "2021-09-30"}
    assert meta["test_window"] == {"start": "2021-10-01", "end": "2021-12-31"}
    assert meta["n_train"] == res.n_train and meta["n_test"] == res.n_oot
    assert meta["source"] == "loans.csv" and meta["target"] == "bad"
    assert set(meta["metrics"]) == {"train", "oot"} and meta["metrics"]["oot"]["n"] == res.n_oot
    assert meta["retrain"]["steps"] == res.decision.steps and meta["retrain"]["oot_window"] == meta["test_window"]
    assert sum(meta["monitoring_reference"]["score_counts"]) == res.n_train
    # the file scores the OOT rows as the comparison did
    oot = (t >= "2021-10-01").to_numpy()
    from lendscore.validation import roc_auc

    assert roc_auc(y[oot], m.predict_proba(X[oot])[:, 1]) == pytest.approx(res.decision.challenger["auc"])
    assert [p.name for p in tmp_path.iterdir()] == ["c.json"]


def test_nothing_is_written_when_retraining_fails(data, tmp_path):
    X, y, t = data
    target = tmp_path / "c.json"
    broken = tmp_path / "champion.json"
    broken.write_text("{}")
    with pytest.raises(ArtifactError):
        retrain(
            X,
            y,
            t,
            train_window=("2021-01-01", "2021-09-30"),
            oot_window=("2021-10-01", "2021-12-31"),
            model_path=target,
            champion=broken,
            params=PARAMS,
        )
    # a champion that cannot score the OOT sample (other inputs) is refused by name
    other = tmp_path / "other.json"
    lendscore.Scorecard(**PARAMS).fit(X.rename(columns={"x1": "z1"}), y).save(other)
    with pytest.raises(DataError, match="champion cannot score the out-of-time sample"):
        retrain(
            X,
            y,
            t,
            train_window=("2021-01-01", "2021-09-30"),
            oot_window=("2021-10-01", "2021-12-31"),
            model_path=target,
            champion=other,
            params=PARAMS,
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["champion.json", "other.json"]
    # an existing file at model_path is left as it was
    target.write_text("previous")
    with pytest.raises(ArtifactError):
        retrain(
            X,
            y,
            t,
            train_window=("2021-01-01", "2021-09-30"),
            oot_window=("2021-10-01", "2021-12-31"),
            model_path=target,
            champion=broken,
            params=PARAMS,
        )
    assert target.read_text() == "previous"

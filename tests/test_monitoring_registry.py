"""Model registry: states, history with who/when/why, reversibility, refusing broken models."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pytest

import lendscore
from lendscore.errors import ArtifactError, ConfigError, ModelError
from lendscore.monitoring import Registry


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"x": rng.normal(size=1500), "z": rng.choice(["a", "b"], 1500)})
    y = (rng.random(1500) < 1 / (1 + np.exp(2 - 1.2 * X["x"]))).astype(int)
    path = tmp_path_factory.mktemp("m") / "model.json"
    lendscore.Scorecard(max_rules=0, woe_cv=0).fit(X, y).save(
        path, training_window={"start": "2020-01-01", "end": "2020-12-31"}, metrics={"auc": 0.7}
    )
    return path


@pytest.fixture
def reg(tmp_path):
    ticks = itertools.count(1)
    return Registry(tmp_path / "reg", clock=lambda: f"2024-01-01T00:00:{next(ticks):02d}+00:00")


def test_register_list_show(reg, model_file):
    e = reg.register(model_file, by="alice", why="first model")
    assert e["version"] == "v1" and e["state"] == "candidate"
    assert e["training_window"] == {"start": "2020-01-01", "end": "2020-12-31"}
    assert e["metrics"] == {"auc": 0.7} and e["registered_by"] == "alice"
    assert e["data_fingerprint"]["n_rows"] == 1500 and len(e["sha256"]) == 64
    assert (reg.root / e["file"]).is_file()
    assert [m["version"] for m in reg.list()] == ["v1"]
    assert reg.get("v1")["why"] == "first model"
    with pytest.raises(ModelError, match="no champion"):
        reg.champion()
    assert reg.challenger() == ("v1", reg.root / "models/v1.json")
    with pytest.raises(ConfigError, match="already registered"):
        reg.register(model_file, version="v1")
    with pytest.raises(ConfigError, match="version"):
        reg.register(model_file, version="../evil")
    assert not [p for p in reg.root.iterdir() if p.name.startswith(".index-")]  # no temporary file left
    assert e["source"] == str(model_file)
    # a file registered from a temporary copy (retrain) records where it is delivered
    other = reg.register(model_file, version="v2", source="/models/challenger.json")
    assert other["source"] == "/models/challenger.json" and other["sha256"] == e["sha256"]


def test_promote_retire_rollback(reg, model_file):
    reg.register(model_file, by="a")
    reg.register(model_file, by="a")
    reg.promote("v1", by="bob", why="initial")
    assert reg.champion() == ("v1", reg.root / "models/v1.json")
    assert reg.challenger()[0] == "v2"
    reg.promote("v2", by="bob", why="better OOT AUC")
    assert reg.champion()[0] == "v2" and reg.get("v1")["state"] == "retired"
    assert reg.challenger() is None
    event = reg.rollback(by="carol", why="v2 misbehaves")
    assert event["undoes"] == 4 and event["by"] == "carol"
    assert reg.champion()[0] == "v1" and reg.get("v2")["state"] == "candidate"
    # promoting an older version back is the other way to reverse
    reg.promote("v2", by="bob")
    reg.promote("v1", by="bob", why="back to v1")
    assert reg.champion()[0] == "v1" and reg.get("v2")["state"] == "retired"
    with pytest.raises(ConfigError, match="champion"):
        reg.retire("v1")
    reg.retire("v1", force=True, by="dan", why="model withdrawn")
    with pytest.raises(ModelError):
        reg.champion()
    reg.rollback(by="dan")
    assert reg.champion()[0] == "v1"
    h = reg.history()
    assert [e["action"] for e in h] == [
        "register",
        "register",
        "promote",
        "promote",
        "rollback",
        "promote",
        "promote",
        "retire",
        "rollback",
    ]
    assert all(e["by"] and e["at"] for e in h)
    assert h[3]["before"] == {"v2": "candidate", "v1": "champion"} and h[3]["after"] == {
        "v2": "champion",
        "v1": "retired",
    }
    assert h[3]["why"] == "better OOT AUC"
    # the index on disk is what the registry says
    doc = json.loads(reg.index_path.read_text())
    assert doc["models"]["v1"]["state"] == "champion" and len(doc["history"]) == 9


def test_set_challenger_and_rollback(reg, model_file):
    for _ in range(3):
        reg.register(model_file)
    assert reg.challenger()[0] == "v3"
    reg.set_challenger("v2", by="eve")
    assert reg.challenger()[0] == "v2"
    reg.rollback()
    assert reg.challenger()[0] == "v3"
    with pytest.raises(ConfigError, match="nothing to roll back"):
        Registry(reg.root.parent / "empty").rollback()


def test_broken_model_is_never_registered_nor_promoted(reg, model_file, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(model_file.read_text()[:500])
    with pytest.raises(ArtifactError):
        reg.register(bad)
    assert reg.list() == []
    reg.register(model_file)
    reg.register(model_file)
    reg.promote("v1")
    path = reg.path_of("v2")
    path.write_text(path.read_text().replace('"intercept"', '"intercept" ', 1))  # edited after registration
    with pytest.raises(ArtifactError, match="cannot be promoted"):
        reg.promote("v2", by="mallory")
    assert reg.champion()[0] == "v1" and reg.get("v2")["state"] == "candidate"
    last = reg.history()[-1]
    assert last["action"] == "promote_refused" and last["by"] == "mallory" and "refused" in last["why"]

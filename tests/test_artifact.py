"""The JSON model file: round trip, refusal of damaged or foreign files, readability, no pickle."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

import lendscore
from lendscore import ArtifactError


@pytest.fixture(scope="module")
def saved(lc_model, tmp_path_factory):
    path = tmp_path_factory.mktemp("artifact") / "model.json"
    lc_model.save(path)
    return path


def test_round_trip_identical_predictions(lc_model, saved, lending_club):
    loaded = lendscore.load(saved)
    X = lending_club.X_test
    np.testing.assert_array_equal(loaded.predict_proba(X), lc_model.predict_proba(X))
    np.testing.assert_array_equal(loaded.predict(X), lc_model.predict(X))
    a, b = loaded.score_details(X), lc_model.score_details(X)
    assert a.equals(b)
    row = X.iloc[0].to_dict()
    assert loaded.predict_one(row) == lc_model.predict_one(row)
    assert loaded.characteristics_ == lc_model.characteristics_
    assert loaded.grades_ == lc_model.grades_


def test_file_is_readable_json(saved):
    text = saved.read_text(encoding="utf-8")
    doc = json.loads(text)
    assert "\n " in text  # indented, one key per line
    for key in ("format", "format_version", "checksum", "binnings", "coef", "intercept", "grades", "scaling"):
        assert key in doc
    assert doc["format"] == "lendscore.scorecard"


def _rewrite(src, dst, edit):
    doc = json.loads(src.read_text(encoding="utf-8"))
    edit(doc)
    dst.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    return dst


def test_truncated_file_is_refused(saved, tmp_path):
    text = saved.read_text(encoding="utf-8")
    bad = tmp_path / "truncated.json"
    bad.write_text(text[: len(text) // 2], encoding="utf-8")
    with pytest.raises(ArtifactError, match="truncated"):
        lendscore.load(bad)


def test_edited_number_is_refused(saved, tmp_path):
    def edit(doc):
        doc["coef"][0] += 0.001

    with pytest.raises(ArtifactError, match="checksum mismatch"):
        lendscore.load(_rewrite(saved, tmp_path / "edited.json", edit))


def test_wrong_format_version_is_refused(saved, tmp_path):
    def edit(doc):
        doc["format_version"] = 99

    with pytest.raises(ArtifactError, match=r"format_version must be one of \[1, 2\]; got 99"):
        lendscore.load(_rewrite(saved, tmp_path / "v99.json", edit))


@pytest.mark.parametrize("content", ['{"hello": "world"}', "[1, 2, 3]", '{"format": "sklearn.pickle"}'])
def test_foreign_json_is_refused(tmp_path, content):
    path = tmp_path / "other.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ArtifactError, match="not a lendscore model file"):
        lendscore.load(path)


def test_missing_file_is_refused(tmp_path):
    with pytest.raises(ArtifactError, match="not found"):
        lendscore.load(tmp_path / "nope.json")


def test_loading_executes_nothing(saved, monkeypatch):
    raw = saved.read_bytes()
    assert not raw.startswith(b"\x80")  # no pickle protocol header
    json.loads(raw)  # plain JSON is the whole file

    def refuse(*args, **kwargs):
        raise AssertionError("pickle used while loading a model")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    lendscore.load(saved)

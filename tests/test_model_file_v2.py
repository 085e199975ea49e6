"""Model file format 2: the inputs section (fields, value rules, declared derivation), typed
metadata, a just-fitted model identical to the same model after save/load, and version 1 kept
readable (a real version-1 file is the golden fixture)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

import lendscore
from lendscore import ArtifactError
from lendscore.data import get_profile, load_bundled, prepare
from lendscore.training import package_model

FIXTURES = Path(__file__).parent / "fixtures"
PROFILE = get_profile("lending_club_2007_2011")


@pytest.fixture(scope="module")
def raw_2011():
    raw = load_bundled("lending_club")
    return raw[raw["issue_d"] >= "2011-01-01"].drop(columns=["loan_status", "addr_state"])


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    X, y, t, _ = prepare(load_bundled("lending_club"), PROFILE)
    train = (t < "2011-01-01").to_numpy()
    model = lendscore.Scorecard().fit(X[train], y[train], inputs=PROFILE)
    package_model(
        model,
        X[train],
        source="bundled",
        profile=PROFILE.name,
        training_window={"start": "2007-06-01", "end": "2010-12-31"},
    )
    path = tmp_path_factory.mktemp("v2") / "model.json"
    model.save(path)
    return model, path


def test_version_1_file_still_loads_and_scores_as_it_did(raw_2011, tmp_path):
    path = tmp_path / "v1.json"
    path.write_bytes(gzip.decompress((FIXTURES / "model_v1_lending_club.json.gz").read_bytes()))
    assert json.loads(path.read_text())["format_version"] == 1
    model = lendscore.load(path)
    golden = json.loads((FIXTURES / "model_v1_lending_club.pd.json").read_text())["pd"]
    got = model.score_details(raw_2011.head(len(golden)))["pd"].to_numpy()
    np.testing.assert_array_equal(got, np.asarray(golden))  # bit for bit, through the rebuilt derivation
    assert model.inputs_.derivation == PROFILE.derivation
    one = [
        model.predict_one({k: v for k, v in r.items() if v == v})["pd"] for r in raw_2011.head(20).to_dict("records")
    ]
    assert np.max(np.abs(np.asarray(one) - got[:20])) < 1e-12


def test_version_2_file_declares_inputs_and_derivation(fitted):
    _, path = fitted
    doc = json.loads(path.read_text())
    assert doc["format_version"] == 2
    ops = [op["op"] for op in doc["inputs"]["derivation"]["operations"]]
    assert ops == [
        "credit_age_months",
        "instalment",
        "monthly_income",
        "existing_obligations",
        "net_take_home",
        "nth_share",
    ]
    fields = {f["name"]: f for f in doc["inputs"]["fields"]}
    assert fields["issue_d"]["type"] == "date" and fields["annual_inc"]["min"] == 0
    assert fields["annual_inc"]["training_max"] > fields["annual_inc"]["training_min"] >= 0
    assert doc["metadata"]["training_window"] == {"start": "2007-06-01", "end": "2010-12-31"}
    assert "monitoring_reference" in doc["metadata"]


def test_fitted_and_loaded_models_behave_identically(fitted, raw_2011):
    model, path = fitted
    loaded = lendscore.load(path)
    raw = raw_2011.head(2000)
    np.testing.assert_array_equal(loaded.predict_proba(raw), model.predict_proba(raw))
    assert loaded.score_details(raw).equals(model.score_details(raw))
    assert loaded.input_warnings(raw).equals(model.input_warnings(raw))
    for r in raw.head(25).to_dict("records"):
        r = {k: v for k, v in r.items() if v == v}
        assert loaded.predict_one(r) == model.predict_one(r)
    assert loaded.inputs_ == model.inputs_
    assert loaded.metadata_ == {
        **model.metadata_,
        "created_at": loaded.metadata_["created_at"],
        "lendscore_version": lendscore.__version__,
    }
    assert loaded.converged_ == model.converged_


def test_unknown_metadata_key_is_refused(fitted, tmp_path):
    model, _ = fitted
    with pytest.raises(ValueError, match="trainig_window"):
        model.save(tmp_path / "m.json", trainig_window={"start": "2001-01-01", "end": "2002-01-01"})
    assert not (tmp_path / "m.json").exists()


def test_edited_derivation_is_refused(fitted, tmp_path):
    _, path = fitted
    doc = json.loads(path.read_text())
    doc["inputs"]["derivation"]["operations"][0]["application_date"] = "other"
    bad = tmp_path / "edited.json"
    bad.write_text(json.dumps(doc))
    with pytest.raises(ArtifactError, match="checksum"):
        lendscore.load(bad)


def test_unknown_field_is_refused_by_predict_one(fitted):
    model, _ = fitted
    with pytest.raises(lendscore.SchemaError, match="fico"):
        model.predict_one({"term": 36, "fico": 700})


def test_unfitted_model_raises_not_fitted(raw_2011):
    from sklearn.exceptions import NotFittedError as SkNotFitted

    m = lendscore.Scorecard()
    for call in (
        lambda: m.predict_one({}),
        lambda: m.score_details(raw_2011.head(2)),
        lambda: m.points_table(),
        lambda: m.predict_proba(raw_2011.head(2)),
        lambda: m.to_sql(),
        lambda: m.save("x.json"),
        lambda: m.input_warnings(raw_2011.head(2)),
    ):
        with pytest.raises(lendscore.errors.NotFittedError) as e:
            call()
        assert isinstance(e.value, SkNotFitted)


def test_warnings_of_one_applicant_equal_the_frame_path(fitted, raw_2011):
    """predict_one's warnings (the scalar twin) equal input_warnings on the frame, row by row, on raw
    rows where a third carry an unseen category and some carry values beyond the training range."""
    model, _ = fitted
    raw = raw_2011.head(600).copy()
    raw.loc[raw.index[::3], "purpose"] = "Debt Consolidation"
    raw.loc[raw.index[::7], "annual_inc"] = 9.9e7
    raw.loc[raw.index[1::11], "revol_util"] = 0.0
    table = model.input_warnings(raw)
    assert (table["rule"] == "unseen_category").sum() == 200 and (table["rule"] == "above_training_range").any()
    for i, r in enumerate(raw.to_dict("records")):
        got = model.predict_one({k: v for k, v in r.items() if v == v})["warnings"]
        want = table[table["row"] == i]
        assert sorted((w["field"], w["rule"]) for w in got) == sorted(zip(want["field"], want["rule"], strict=True))

"""A model trained through a dataset profile scores raw applications in the service exactly as in training.

The Lending Club profile derives ``nth``, ``nth_ratio`` and ``credit_age_months``; a loan-origination
system sends the raw fields (income, debt-to-income, instalment, earliest credit line, application
date), and the service derives the rest with the same formulas.
"""
from __future__ import annotations

import math

import pytest

import lendscore
from lendscore.data import get_profile, load_bundled, prepare
from lendscore.data.derive import lending_club_features_one
from lendscore.service import create_app, load_settings
from lendscore.service.testing import demo_keys, test_client, write_settings


@pytest.fixture(scope="module")
def lc(tmp_path_factory):
    raw = load_bundled("lending_club")
    X, y, t, _ = prepare(raw, get_profile("lending_club_2007_2011"))
    train = (t < "2011-01-01").to_numpy()
    model = lendscore.Scorecard().fit(X[train], y.to_numpy()[train])
    path = tmp_path_factory.mktemp("derive") / "model.json"
    model.save(path, profile="lending_club_2007_2011")  # as `lendscore train --profile` records it
    test_rows = raw.loc[X.index[~train][:25]]
    return lendscore.load(path), path, X[~train].iloc[:25], test_rows


def _raw_applicant(row) -> dict:
    keep = ["loan_amnt", "term", "int_rate", "installment", "grade", "sub_grade", "emp_length", "home_ownership",
            "annual_inc", "verification_status", "purpose", "dti", "delinq_2yrs", "inq_last_6mths",
            "mths_since_last_delinq", "mths_since_last_record", "open_acc", "pub_rec", "revol_bal", "revol_util",
            "total_acc", "pub_rec_bankruptcies", "issue_d", "earliest_cr_line"]
    out = {}
    for k in keep:
        v = row[k]
        out[k] = None if isinstance(v, float) and math.isnan(v) else (v if isinstance(v, str) else float(v))
    return out


def test_one_applicant_derivation_matches_training_rows(lc):
    model, _, X, raw = lc
    for (_, row), (_, prepared) in zip(raw.iterrows(), X.iterrows()):
        d = lending_club_features_one(_raw_applicant(row))
        for col in ("nth", "nth_ratio", "credit_age_months"):
            assert d[col] == pytest.approx(prepared[col], rel=0, abs=1e-12), col


def test_service_scores_raw_applications_as_in_training(lc, tmp_path):
    model, path, X, raw = lc
    keys = demo_keys()
    settings = load_settings(write_settings(tmp_path / "s.toml", model=path, audit_url="memory://", keys=keys),
                             environ={})
    expected = model.score_details(X)["score"].tolist()
    with test_client(create_app(settings)) as c:
        for (_, row), want in zip(raw.iterrows(), expected):
            body = {"applicant": _raw_applicant(row)}
            r = c.post("/v1/decisions", json=body, headers={"X-API-Key": keys["scorer"]})
            assert r.status_code == 200, r.text
            assert r.json()["score"] == pytest.approx(want, abs=1e-9)
        batch = [{"applicant": _raw_applicant(row)} for _, row in raw.iterrows()]
        r = c.post("/v1/decisions/batch", json={"applications": batch}, headers={"X-API-Key": keys["scorer"]})
        assert r.status_code == 200, r.text
        assert [d["score"] for d in r.json()["decisions"]] == pytest.approx(expected, abs=1e-9)

"""Whole points (``points_rounding=0``): every bin's points are integers, a score is exactly the sum
of its printed points, and every path (frame, one applicant, predict_proba, SQL) gives the PD of that
score; unrounded models are unchanged (the golden test covers them bit for bit)."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

import lendscore
from lendscore.data import get_profile, load_bundled, prepare
from lendscore.model.scaling import score_to_pd

PROFILE = get_profile("lending_club_2007_2011")


@pytest.fixture(scope="module")
def fitted():
    raw = load_bundled("lending_club")
    X, y, t, _ = prepare(raw, PROFILE)
    train = (t < "2011-01-01").to_numpy()
    exact = lendscore.Scorecard().fit(X[train], y[train], inputs=PROFILE)
    whole = lendscore.Scorecard(points_rounding=0).fit(X[train], y[train], inputs=PROFILE)
    test = raw.loc[X.index[~train]].drop(columns=["loan_status"]).head(3000).reset_index(drop=True)
    return exact, whole, test


def test_points_are_integers_and_add_up(fitted):
    _, whole, test = fitted
    table = whole.points_table()
    assert (table["points"] == np.round(table["points"])).all()
    d = whole.score_details(test)
    points = d[[c for c in d.columns if c.startswith("points_")]]
    assert (points.to_numpy() == np.round(points.to_numpy())).all()
    np.testing.assert_array_equal(d["score"].to_numpy(), points.sum(axis=1).to_numpy())
    np.testing.assert_array_equal(d["pd"].to_numpy(), score_to_pd(d["score"].to_numpy(), whole.scaling_))


def test_every_path_gives_the_pd_of_the_rounded_score(fitted, tmp_path):
    _, whole, test = fitted
    d = whole.score_details(test)
    proba = whole.predict_proba(test)[:, 1]
    assert np.max(np.abs(proba - d["pd"].to_numpy())) < 1e-12
    one = np.array(
        [whole.predict_one({k: v for k, v in r.items() if v == v})["pd"] for r in test.head(200).to_dict("records")]
    )
    assert np.max(np.abs(one - d["pd"].to_numpy()[:200])) < 1e-12
    con = duckdb.connect()
    con.register("t", test.assign(rid=np.arange(len(test))))
    con.execute("CREATE TABLE applicants AS SELECT * FROM t")
    sql = whole.to_sql("applicants", id_column="rid", columns=[*test.columns, "rid"])
    got = con.execute(f"SELECT * FROM ({sql}) ORDER BY rid").df()
    np.testing.assert_array_equal(got["score"].to_numpy(), d["score"].to_numpy())
    path = tmp_path / "m.json"
    whole.save(path)
    np.testing.assert_array_equal(lendscore.load(path).score_details(test)["score"].to_numpy(), d["score"].to_numpy())


def test_rounding_moves_the_pd_little(fitted):
    """What whole points cost: at most half a point per characteristic, so a PD moves by at most
    about (n_characteristics / 2) / factor in log-odds."""
    exact, whole, test = fitted
    a, b = exact.score_details(test), whole.score_details(test)
    n = len(whole.characteristics_)
    assert np.max(np.abs(a["score"] - b["score"])) <= n * 0.5 + 1e-9
    logit = lambda p: np.log(p / (1 - p))
    assert np.max(np.abs(logit(a["pd"]) - logit(b["pd"]))) <= n * 0.5 / whole.scaling_.factor + 1e-9
    assert (a["grade"] == b["grade"]).mean() > 0.95


def test_points_rounding_is_validated():
    with pytest.raises(lendscore.ConfigError, match="points_rounding"):
        lendscore.Scorecard(points_rounding=-1).fit(pd.DataFrame({"a": np.arange(50.0)}), np.arange(50) % 2)

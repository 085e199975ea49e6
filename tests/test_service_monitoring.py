"""Monitoring in the service: registry champion, challenger shadow scores, outcome batches, the admins' page."""

from __future__ import annotations

import datetime as dt
import logging

import pytest

import lendscore
from lendscore.monitoring import Registry
from lendscore.service import create_app, load_settings
from lendscore.service.testing import (
    sample_applications,
    test_client,
    write_settings,
)

T0 = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def challenger_path(tmp_path_factory):
    """A different scorecard: fitted on 2010 applications only, with fewer inputs."""
    from lendscore.data import get_profile, load_bundled, prepare

    X, y, t, _ = prepare(load_bundled("lending_club"), get_profile("lending_club_2007_2011"))
    window = (t >= "2010-01-01") & (t < "2011-01-01")
    path = tmp_path_factory.mktemp("challenger") / "challenger.json"
    lendscore.Scorecard().fit(X[window], y[window]).save(path)
    return path


@pytest.fixture(scope="module")
def apps():
    return sample_applications(30, seed=11)


def _registry(root, champion, challenger=None):
    reg = Registry(root, clock=lambda: "2026-03-01T00:00:00+00:00")
    reg.register(champion, version="v1", by="test", why="first model")
    reg.promote("v1", by="test", why="go live")
    if challenger is not None:
        reg.register(challenger, version="v2", by="test", why="refit on 2010")
    return root


def _app(tmp_path, keys, registry, url="memory://", **extra):
    settings = load_settings(
        write_settings(
            tmp_path / "settings.toml", model=None, audit_url=url, keys=keys, registry_dir=str(registry), **extra
        ),
        environ={},
    )
    return create_app(settings, clock=lambda: T0)


def h(keys, role):
    return {"X-API-Key": keys[role]}


def _without_ids(d):
    return {k: v for k, v in d.items() if k not in ("decision_id", "request_id")}


def test_champion_is_served_from_the_registry(tmp_path, keys, apps, model_path, challenger_path):
    app = _app(tmp_path, keys, _registry(tmp_path / "reg", model_path, challenger_path))
    with test_client(app) as c:
        r = c.post("/v1/decisions", json=apps[0], headers=h(keys, "scorer"))
        assert r.status_code == 200 and r.json()["model_version"] == "v1"
        m = c.get("/v1/models", headers=h(keys, "admin")).json()
        assert m["model"]["version"] == "v1" and m["challenger"]["version"] == "v2"
        assert m["policy"]["version"] == "2026.1-example" and m["source"].startswith("registry")
        assert c.get("/v1/models", headers=h(keys, "officer")).status_code == 403


@pytest.mark.parametrize("url", ["memory://", "sqlite"])
def test_shadow_scores_are_stored_and_never_change_the_decision(tmp_path, keys, apps, model_path, challenger_path, url):
    db = lambda name: "memory://" if url == "memory://" else f"sqlite:///{tmp_path / name}"
    plain = (
        _app(tmp_path / "a", keys, _registry(tmp_path / "a" / "reg", model_path), db("a.db"))
        if (tmp_path / "a").mkdir() is None
        else None
    )
    shadowed = (
        _app(tmp_path / "b", keys, _registry(tmp_path / "b" / "reg", model_path, challenger_path), db("b.db"))
        if (tmp_path / "b").mkdir() is None
        else None
    )
    with test_client(plain) as c1, test_client(shadowed) as c2:
        for body in apps[:10]:
            r1 = c1.post("/v1/decisions", json=body, headers=h(keys, "scorer"))
            r2 = c2.post("/v1/decisions", json=body, headers=h(keys, "scorer"))
            assert r1.status_code == r2.status_code == 200
            assert _without_ids(r1.json()) == _without_ids(r2.json())
            assert "challenger" not in r2.text and "v2" not in r2.text
        b1 = c1.post("/v1/decisions/batch", json={"applications": apps[10:20]}, headers=h(keys, "scorer")).json()
        b2 = c2.post("/v1/decisions/batch", json={"applications": apps[10:20]}, headers=h(keys, "scorer")).json()
        assert [_without_ids(d) for d in b1["decisions"]] == [_without_ids(d) for d in b2["decisions"]]
        store1, store2 = plain.state.service.store, shadowed.state.service.store
        assert len(store1.shadow_frame()) == 0
        shadow = store2.shadow_frame()
        decided = store2.decisions_frame()
        assert sorted(shadow["decision_id"]) == sorted(decided["decision_id"]) and len(shadow) == 20
        assert set(shadow["challenger_version"]) == {"v2"} and set(shadow["champion_version"]) == {"v1"}
        challenger = lendscore.load(challenger_path)
        first = r2.json()["decision_id"]  # the last single decision
        row = shadow.set_index("decision_id").loc[first]
        expected = challenger.predict_one(apps[9]["applicant"])
        assert row["score"] == pytest.approx(expected["score"]) and row["grade"] == expected["grade"]
        assert row["pd"] == pytest.approx(expected["pd"], rel=1e-12)


def test_outcome_batch_refuses_and_counts(tmp_path, keys, apps, model_path):
    app = _app(tmp_path, keys, _registry(tmp_path / "reg", model_path))
    with test_client(app) as c:
        ids = [c.post("/v1/decisions", json=a, headers=h(keys, "scorer")).json()["decision_id"] for a in apps[:4]]
        assert (
            c.post(
                "/v1/outcomes",
                json={"decision_id": ids[3], "defaulted": False, "outcome_date": "2026-04-01"},
                headers=h(keys, "admin"),
            ).status_code
            == 201
        )
        rows = [
            {"decision_id": ids[0], "defaulted": 1, "outcome_date": "2026-09-30"},  # accepted
            {"decision_id": ids[1], "defaulted": True, "outcome_date": "2026-03-02"},  # accepted (same day)
            {"decision_id": "no-such-decision", "defaulted": 0, "outcome_date": "2026-09-30"},
            {"decision_id": ids[0], "defaulted": 0, "outcome_date": "2026-10-30"},  # repeated in the batch
            {"decision_id": ids[3], "defaulted": 1, "outcome_date": "2026-10-30"},  # already stored
            {"decision_id": ids[2], "defaulted": 0, "outcome_date": "2026-03-01"},  # before the decision
            {"decision_id": ids[2], "defaulted": "maybe", "outcome_date": "2026-09-30"},
            {"decision_id": ids[2], "defaulted": 0},
            {"decision_id": ids[2], "defaulted": 0, "outcome_date": "not a date"},
        ]
        r = c.post("/v1/outcomes/batch", json={"outcomes": rows}, headers=h(keys, "admin"))
        assert r.status_code == 200, r.text
        out = r.json()
        assert out["n_received"] == 9 and out["n_accepted"] == 2 and out["n_rejected"] == 7
        assert out["counts"] == {
            "missing_field": 1,
            "bad_defaulted": 1,
            "bad_date": 1,
            "unknown_decision": 1,
            "duplicate": 2,
            "before_decision": 1,
        }
        assert [x["row"] for x in out["rejected"]] == [2, 3, 4, 5, 6, 7, 8]
        stored = app.state.service.store.outcomes_frame()
        assert sorted(stored["decision_id"]) == sorted([ids[0], ids[1], ids[3]])
        assert stored.set_index("decision_id").loc[ids[0], "defaulted"] == 1
        text = c.get("/metrics", headers=h(keys, "admin")).text
        assert 'lendscore_outcomes_total{result="accepted"} 3' in text
        assert 'lendscore_outcomes_total{result="duplicate"} 2' in text
        assert c.post("/v1/outcomes/batch", json={"outcomes": rows}, headers=h(keys, "officer")).status_code == 403


def test_monitoring_page_is_for_admins(tmp_path, keys, apps, model_path, challenger_path, caplog):
    app = _app(
        tmp_path,
        keys,
        _registry(tmp_path / "reg", model_path, challenger_path),
        f"sqlite:///{tmp_path / 'audit.db'}",
        monitoring_cache_seconds=60,
    )
    with test_client(app) as c:
        c.post("/v1/decisions/batch", json={"applications": apps}, headers=h(keys, "scorer"))
        assert c.get("/ui/monitoring", headers=h(keys, "scorer")).status_code == 403
        assert c.get("/ui/monitoring", headers=h(keys, "officer")).status_code == 403
        assert c.get("/ui/monitoring").status_code == 401
        with caplog.at_level(logging.INFO, logger="lendscore"):
            r = c.get("/ui/monitoring", headers=h(keys, "admin"))
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        page = r.text
        assert "v1" in page and "2026-03" in page  # the champion and the period
        assert (
            "Drift (per M)" in page and "Realised performance by vintage" in page and "data:image/png;base64," in page
        )
        assert "shadow scoring by challenger v2: 30 decisions" in page
        again = c.get("/ui/monitoring", headers={"Authorization": f"Bearer {keys['admin']}"})
        assert again.text == page and app.state.service.monitoring.computations == 1  # cached
    alerts = [rec for rec in caplog.records if getattr(rec, "event", None) == "monitoring_alert"]
    assert alerts and all(rec.alert["period"] in ("2026-03", None) for rec in alerts)


def test_monitoring_worker_runs_at_the_lowest_priority():
    """The worker process the page uses: nice 19 and, on Linux, the idle scheduling class."""
    import multiprocessing
    import os
    from concurrent.futures import ProcessPoolExecutor

    from lendscore.service.monitor import _lowest_priority

    with ProcessPoolExecutor(
        max_workers=1, mp_context=multiprocessing.get_context("spawn"), initializer=_lowest_priority
    ) as pool:
        nice, policy = pool.submit(_priority).result(timeout=60)
    assert nice == 19  # raising niceness needs no privilege
    if hasattr(os, "SCHED_IDLE"):
        assert policy == os.SCHED_IDLE


def _priority():
    import os

    return os.nice(0), (os.sched_getscheduler(0) if hasattr(os, "sched_getscheduler") else None)


def _raw_applications(model, n, seed, *, drop=()):
    """Raw Lending Club applications of 2011 as request bodies: the fields a person is asked for
    (no credit age, instalment, NTH or NTH share: the model file derives them), LC's own grade included."""
    import numpy as np

    from lendscore.data import load_bundled

    raw = load_bundled("lending_club")
    raw = raw[raw["issue_d"] >= "2011-01-01"].sample(n, random_state=seed)
    fields = [f for f in model.inputs_.requested if f not in drop]
    out = []
    for i, row in enumerate(raw[fields].to_dict(orient="records")):
        applicant = {
            k: (None if isinstance(v, float) and v != v else v.item() if isinstance(v, np.generic) else v)
            for k, v in row.items()
        }
        out.append({"applicant": applicant, "applicant_id": f"RAW-{seed}-{i}"})
    return out


def _section(page: str, title: str) -> str:
    start = page.index(title)
    return page[start : page.index("<h3", start + len(title))]


def test_monitoring_page_covers_every_characteristic_of_raw_applications(tmp_path, keys, model_path):
    """The service's own store of raw applications (derived fields absent, half without an application
    date): the page derives them with the model file, so every characteristic has its CSI, and the
    input warnings are counted; ``lendscore monitor`` reads the same store to the same figures."""
    from lendscore.monitoring import drift, load_monitoring_data

    model = lendscore.load(model_path)
    db = tmp_path / "audit.db"
    app = _app(tmp_path, keys, _registry(tmp_path / "reg", model_path), f"sqlite:///{db}")
    bodies = _raw_applications(model, 40, 3) + _raw_applications(model, 40, 4, drop=("issue_d",))
    with test_client(app) as c:
        r = c.post("/v1/decisions/batch", json={"applications": bodies}, headers=h(keys, "scorer"))
        assert r.status_code == 200, r.text
        page = c.get("/ui/monitoring", headers=h(keys, "admin")).text
    assert "CSI not computed" not in page and "drift not computed" not in page
    latest = _section(page, "CSI by characteristic, latest period")
    for name in model.selected_features_:
        assert f"<td>{name}</td>" in latest, name
    assert latest.count("<tr>") == len(model.selected_features_) + 1  # the header and one row each
    data = load_monitoring_data(db, model)
    assert len(data.decisions) == 80 and data.decisions[["input.nth", "input.nth_ratio"]].notna().all().all()
    d = drift(data.decisions, model, warnings=data.warnings)
    assert len(d.characteristics) == len(model.selected_features_)
    for row in d.characteristics.itertuples():
        assert f"<td>{row.characteristic}</td><td>{row.n}</td><td>{row.psi:.4f}</td>" in latest.replace(
            "<td>2026-03</td>", ""
        ), row.characteristic
    assert f"Input warnings per period ({len(data.warnings)})" in page


def test_a_retrained_challenger_is_promoted_and_served(tmp_path, keys, model_path, capsys):
    """``lendscore retrain`` on Lending Club data: the challenger is promoted in the registry and the
    service serves it; a raw applicant gets the challenger's own answer."""
    import json

    from cli_helpers import run

    reg = _registry(tmp_path / "reg", model_path)
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps({"max_auc_drop": 1.0, "calibration_tolerance": 1.0, "max_csi": 1e6}))
    out = tmp_path / "challenger.json"
    code, text = run(
        [
            "retrain",
            "bundled:lending_club",
            "--train-from",
            "2007-06-01",
            "--train-to",
            "2010-06-30",
            "--oot-from",
            "2010-07-01",
            "--oot-to",
            "2010-12-31",
            "--registry",
            str(reg),
            "--rules",
            str(rules),
            "--version",
            "v3",
            "--by",
            "test",
            "--out",
            str(out),
        ],
        capsys,
    )
    assert code == 0 and "registered v3; promoted to champion" in text, text
    challenger = lendscore.load(out)
    body = _raw_applications(challenger, 1, 9)[0]
    expected = challenger.predict_one(body["applicant"])
    app = _app(tmp_path, keys, reg)
    with test_client(app) as c:
        r = c.post("/v1/decisions", json=body, headers=h(keys, "scorer"))
        assert r.status_code == 200, r.text
        got = r.json()
    assert got["model_version"] == "v3"
    assert got["score"] == pytest.approx(expected["score"], rel=1e-12) and got["grade"] == expected["grade"]
    assert got["pd"] == pytest.approx(expected["pd"], rel=1e-12)

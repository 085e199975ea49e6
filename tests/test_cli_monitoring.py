"""The monitoring command line end to end on a Lending Club slice: the model registry (register, list,
show, promote, retire, rollback; a corrupted model is never promoted), ``lendscore monitor`` on a
decisions file shaped like the audit store's (drift, outcomes refused and counted, the HTML report)
and ``lendscore retrain`` with rules that refuse and rules that allow the promotion.
"""
from __future__ import annotations

import hashlib
import json
import re
import shutil

import numpy as np
import pandas as pd
import pytest
from cli_helpers import flat, lending_club_sample, run, train_out_of_time

import lendscore
from lendscore.data import get_profile, prepare
from lendscore.monitoring import Registry

PROFILE = "lending_club_2007_2011"




@pytest.fixture(scope="module")
def lc_csv(tmp_path_factory):
    """6,000 policy loans issued 2009-06 .. 2011-12 (training before 2011, 2011 out of time)."""
    path = tmp_path_factory.mktemp("mon") / "lc.csv"
    lending_club_sample(6_000, seed=0).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def model_file(lc_csv, tmp_path_factory):
    return train_out_of_time(lc_csv, tmp_path_factory.mktemp("model")) / "model.json"


@pytest.fixture(scope="module")
def oot_2011(lc_csv):
    """The 2011 rows, prepared as in training: (X, y, issue date)."""
    X, y, time, _ = prepare(pd.read_csv(lc_csv), get_profile(PROFILE))
    keep = (time >= "2011-01-01").to_numpy()
    return X[keep].reset_index(drop=True), y[keep].reset_index(drop=True), time[keep].reset_index(drop=True)


@pytest.fixture(scope="module")
def decisions_csv(model_file, oot_2011, tmp_path_factory):
    """Scored 2011 rows as the audit store's decisions frame; inputs whose name is a decision column
    (Lending Club's own ``grade``) are logged as ``input.<name>``."""
    X, _, time = oot_2011
    details = lendscore.load(model_file).score_details(X)
    frame = pd.DataFrame({
        "decision_id": [f"d{i:05d}" for i in range(len(X))],
        "created_at": time.dt.tz_localize("UTC").map(lambda t: t.isoformat()),
        "model_version": "v1",
        "outcome": np.select([details["score"] >= 555, details["score"] >= 530], ["approve", "refer"], "decline"),
        "pd": details["pd"].to_numpy(),
        "score": details["score"].to_numpy(),
        "grade": details["grade"].to_numpy(),
    })
    inputs = X.rename(columns={c: f"input.{c}" for c in X.columns if c in frame.columns})
    path = tmp_path_factory.mktemp("decisions") / "decisions.csv"
    pd.concat([frame, inputs], axis=1).to_csv(path, index=False)
    return path


# ---------------------------------------------------------------------------------------- registry
def test_registry_lifecycle_records_who_and_why(model_file, tmp_path, capsys):
    reg = tmp_path / "registry"
    r = ["--registry", str(reg)]
    code, text = run(["models", "register", str(model_file), *r, "--by", "alice", "--why", "first fit"], capsys)
    assert code == 0 and "registered v1 as candidate" in text, text
    code, text = run(["models", "register", str(model_file), *r, "--version", "v2", "--by", "alice",
                      "--why", "same model, second name"], capsys)
    assert code == 0, text

    code, text = run(["models", "list", *r], capsys)
    assert code == 0, text
    v1_row = next(line for line in text.splitlines() if " v1 " in line)
    assert "candidate" in v1_row and "alice" in v1_row
    assert "2009-06-01 .. 2010-12-01" in v1_row  # the training window `lendscore train` recorded
    assert re.search(r"0\.\d{4}", v1_row)  # its out-of-time AUC

    code, text = run(["models", "promote", "v1", *r, "--by", "bob", "--why", "beats the scorecard in use"], capsys)
    assert code == 0 and "v1 is the champion" in text, text
    code, text = run(["models", "promote", "v2", *r, "--by", "carol", "--why", "try the other"], capsys)
    assert code == 0, text
    states = {m["version"]: m["state"] for m in Registry(reg).list()}
    assert states == {"v1": "retired", "v2": "champion"}

    code, text = run(["models", "rollback", *r, "--by", "dave", "--why", "v2 misbehaves"], capsys)
    assert code == 0 and "rolled back event" in text, text
    states = {m["version"]: m["state"] for m in Registry(reg).list()}
    assert states == {"v1": "champion", "v2": "candidate"}

    code, text = run(["models", "retire", "v1", *r, "--by", "erin"], capsys)
    assert code == 2 and "is the champion" in flat(text) and "Traceback" not in text  # retiring the champion needs --force
    code, text = run(["models", "retire", "v2", *r, "--by", "erin", "--why", "not needed"], capsys)
    assert code == 0 and "v2 is retired" in text

    code, text = run(["models", "show", "v1", *r, "--history"], capsys)
    assert code == 0, text
    shown = json.loads(text)
    assert shown["entry"]["state"] == "champion"
    assert shown["entry"]["registered_by"] == "alice" and shown["entry"]["why"] == "first fit"
    actions = [(h["action"], h["by"], h["why"]) for h in shown["history"]]
    assert ("register", "alice", "first fit") in actions
    assert ("promote", "bob", "beats the scorecard in use") in actions
    assert ("rollback", "dave", "v2 misbehaves") in actions
    history = Registry(reg).history()
    assert [h["action"] for h in history] == ["register", "register", "promote", "promote", "rollback", "retire"]
    assert history[4]["undoes"] == 4 and history[4]["after"] == {"v1": "champion", "v2": "candidate"}


def test_corrupted_model_is_never_promoted(model_file, tmp_path, capsys):
    reg = tmp_path / "registry"
    r = ["--registry", str(reg)]
    assert run(["models", "register", str(model_file), *r, "--by", "alice"], capsys)[0] == 0
    assert run(["models", "register", str(model_file), *r, "--by", "alice"], capsys)[0] == 0
    assert run(["models", "promote", "v1", *r, "--by", "alice"], capsys)[0] == 0

    stored = reg / "models" / "v2.json"  # corrupt the registry's copy of v2: truncated JSON
    text = stored.read_text()
    stored.write_text(text[: len(text) // 2])
    code, msg = run(["models", "promote", "v2", *r, "--by", "mallory", "--why", "ship it"], capsys)
    assert code == 2, msg
    assert "model 'v2' cannot be promoted: it fails to load" in flat(msg) and "sha256 mismatch" in flat(msg)
    assert "Traceback" not in msg

    # the same broken file with the index's checksum updated to match it: now the load itself refuses
    index = json.loads((reg / "index.json").read_text())
    index["models"]["v2"]["sha256"] = hashlib.sha256(stored.read_bytes()).hexdigest()
    (reg / "index.json").write_text(json.dumps(index))
    code, msg = run(["models", "promote", "v2", *r, "--by", "mallory", "--why", "ship it"], capsys)
    assert code == 2 and "cannot be promoted" in flat(msg) and "truncated" in flat(msg), msg
    assert "Traceback" not in msg
    registry = Registry(reg)
    assert registry.champion()[0] == "v1"
    assert registry.get("v2")["state"] == "candidate"
    refusals = [h for h in registry.history() if h["action"] == "promote_refused"]
    assert len(refusals) == 2 and all(h["by"] == "mallory" and h["version"] == "v2" for h in refusals)
    assert all(h["why"].startswith("ship it | refused:") and h["after"] == {} for h in refusals)


def test_a_corrupt_file_is_not_registered(model_file, tmp_path, capsys):
    bad = tmp_path / "broken.json"
    bad.write_text(model_file.read_text()[:1000])
    code, msg = run(["models", "register", str(bad), "--registry", str(tmp_path / "registry")], capsys)
    assert code == 2 and "Traceback" not in msg and "broken.json" in flat(msg)
    assert Registry(tmp_path / "registry").list() == []


def test_registry_is_required(monkeypatch, capsys):
    monkeypatch.delenv("LENDSCORE_REGISTRY", raising=False)
    code, msg = run(["models", "list"], capsys)
    assert code == 2 and "give --registry DIR or set LENDSCORE_REGISTRY" in flat(msg)


# ---------------------------------------------------------------------------------------- monitor
def _hand_psi(expected_counts, actual_counts) -> float:
    e = np.asarray(expected_counts, float) / np.sum(expected_counts)
    a = np.asarray(actual_counts, float) / np.sum(actual_counts)
    return float(np.sum((a - e) * np.log(a / e)))


def test_monitor_writes_the_report_with_sane_psi(model_file, decisions_csv, oot_2011, tmp_path, capsys):
    X, y, time = oot_2011
    ids = [f"d{i:05d}" for i in range(len(X))]
    outcomes = pd.DataFrame({"decision_id": ids, "defaulted": y.astype(int).to_numpy(),
                             "outcome_date": (time + pd.DateOffset(months=6)).dt.strftime("%Y-%m-%d")})
    bad_rows = pd.DataFrame({
        "decision_id": ["no-such-decision", ids[1], ids[2]],
        "defaulted": [0, 1 - int(y.iloc[1]), 0],
        "outcome_date": ["2011-08-01", "2011-09-01", "2010-06-01"],  # the last is before its decision
    })
    outcomes_csv = tmp_path / "outcomes.csv"
    # ids[2]'s only outcome is the one dated before its decision (otherwise it would be a duplicate)
    pd.concat([outcomes.drop(index=2), bad_rows]).to_csv(outcomes_csv, index=False)
    report = tmp_path / "monitoring.html"

    code, text = run(["monitor", str(decisions_csv), "--outcomes", str(outcomes_csv), "--model", str(model_file),
                      "--maturity", "1", "--as-of", "2012-12-31", "--out", str(report)], capsys)
    assert code == 0, text
    assert f"{len(X)} decisions" in text
    # every real outcome is accepted (the first row of a decision wins); the three bad rows are refused
    assert f"outcomes {len(X) - 1} accepted / 3 refused" in text
    html = report.read_text(encoding="utf-8")
    assert len(html) > 50_000 and "Traceback" not in html
    assert re.search(r"unknown_decision 1, duplicate 1, before_decision 1", html)

    # score PSI of January 2011 by hand, from the training deciles stored in the model file
    ref = lendscore.load(model_file).metadata_["monitoring_reference"]
    edges, expected = np.asarray(ref["score_edges"]), np.asarray(ref["score_counts"])
    frame = pd.read_csv(decisions_csv)
    jan = frame.loc[frame["created_at"].str.startswith("2011-01"), "score"].to_numpy()
    actual = np.bincount(np.searchsorted(edges, jan, side="right"), minlength=edges.size + 1)
    assert actual.min() > 0  # no empty bin: the raw formula applies
    psi_jan = _hand_psi(expected, actual)
    assert 0 < psi_jan < 0.25  # one month later, same product: not a significant shift
    assert f"{psi_jan:.4f}" in html

    from lendscore.monitoring import drift

    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True, format="ISO8601")
    d = drift(frame, lendscore.load(model_file), period="M")
    assert list(d.score["period"]) == [f"2011-{m:02d}" for m in range(1, 13)]
    assert d.score["psi"].between(0, 0.5).all() and np.isfinite(d.score["psi"]).all()
    assert d.score.loc[0, "psi"] == pytest.approx(psi_jan, rel=1e-9)
    # Lending Club raised its rates in 2011: int_rate drifts most, far more than the score does
    worst = d.characteristics.groupby("characteristic")["psi"].max()
    assert worst.idxmax() == "int_rate" and worst.max() > 0.25 > d.score["psi"].median()


def test_monitor_with_the_registry_champion_and_a_missing_time_column(model_file, decisions_csv, tmp_path, capsys):
    reg = tmp_path / "registry"
    assert run(["models", "register", str(model_file), "--registry", str(reg)], capsys)[0] == 0
    code, msg = run(["monitor", str(decisions_csv), "--registry", str(reg), "--out", str(tmp_path / "m.html")],
                    capsys)
    assert code == 2 and "has no champion; promote a model first" in flat(msg) and not (tmp_path / "m.html").exists()
    assert run(["models", "promote", "v1", "--registry", str(reg)], capsys)[0] == 0
    code, text = run(["monitor", str(decisions_csv), "--registry", str(reg), "--period", "W",
                      "--out", str(tmp_path / "m.html")], capsys)
    assert code == 0 and (tmp_path / "m.html").stat().st_size > 10_000, text
    code, msg = run(["monitor", str(decisions_csv), "--model", str(model_file), "--time-column", "decided_on",
                     "--out", str(tmp_path / "x.html")], capsys)
    assert code == 2 and "column 'decided_on' is missing" in flat(msg) and "Traceback" not in msg


# ---------------------------------------------------------------------------------------- retrain
RETRAIN_WINDOWS = ["--train-from", "2009-06-01", "--train-to", "2010-06-30",
                   "--oot-from", "2010-07-01", "--oot-to", "2010-12-31"]


def _registry_with_champion(model_file, reg, capsys) -> None:
    assert run(["models", "register", str(model_file), "--registry", str(reg), "--by", "alice"], capsys)[0] == 0
    assert run(["models", "promote", "v1", "--registry", str(reg), "--by", "alice"], capsys)[0] == 0


def test_retrain_refuses_when_the_challenger_loses_auc(model_file, lc_csv, tmp_path, capsys):
    # the champion was fitted on 2009-06 .. 2010-12, so it has seen the OOT window: its AUC there is
    # in-sample and beats a challenger fitted before the window; with no AUC drop allowed, no promotion
    reg = tmp_path / "registry"
    _registry_with_champion(model_file, reg, capsys)
    rules = tmp_path / "strict.json"
    rules.write_text(json.dumps({"max_auc_drop": 0.0, "min_oot_rows": 100, "min_oot_events": 10}))
    code, text = run(["retrain", *RETRAIN_WINDOWS, "--data", str(lc_csv), "--out", str(tmp_path / "ch.json"),
                      "--registry", str(reg), "--rules", str(rules), "--version", "ch1", "--by", "bot"], capsys)
    assert code == 0, text
    assert "[FAIL] auc" in text and "keep the champion: failed auc" in text and "promoted" not in text
    registry = Registry(reg)
    assert registry.champion()[0] == "v1"
    entry = registry.get("ch1")
    assert entry["state"] == "candidate" and entry["registered_by"] == "bot"
    assert entry["retrain"]["promote"] is False
    auc = next(s for s in entry["retrain"]["steps"] if s["step"] == "auc")
    assert auc["passed"] is False and auc["value"] < 0
    assert lendscore.load(tmp_path / "ch.json").metadata_["training_window"] == {"start": "2009-06-01",
                                                                                 "end": "2010-06-30"}


def test_retrain_promotes_when_every_rule_holds(model_file, lc_csv, tmp_path, capsys):
    reg = tmp_path / "registry"
    _registry_with_champion(model_file, reg, capsys)
    rules = tmp_path / "lenient.json"
    rules.write_text(json.dumps({"max_auc_drop": 1.0, "calibration_tolerance": 1.0, "max_csi": 1e6,
                                 "min_oot_rows": 100, "min_oot_events": 10}))
    code, text = run(["retrain", *RETRAIN_WINDOWS, "--data", str(lc_csv), "--out", str(tmp_path / "ch.json"),
                      "--registry", str(reg), "--rules", str(rules), "--version", "ch1", "--by", "bot"], capsys)
    assert code == 0, text
    assert "promote: every rule holds; registered ch1; promoted to champion" in text
    assert text.count("[pass]") == 4
    registry = Registry(reg)
    assert registry.champion()[0] == "ch1" and registry.get("v1")["state"] == "retired"
    promotion = registry.history()[-1]
    assert promotion["action"] == "promote" and promotion["by"] == "bot" and promotion["why"].startswith("retrain:")
    assert promotion["after"] == {"ch1": "champion", "v1": "retired"}


def test_retrain_refuses_bad_rules_and_windows(lc_csv, tmp_path, capsys):
    rules = tmp_path / "typo.json"
    rules.write_text(json.dumps({"max_auc_dorp": 0.02}))
    code, msg = run(["retrain", *RETRAIN_WINDOWS, "--data", str(lc_csv), "--out", str(tmp_path / "ch.json"),
                     "--rules", str(rules)], capsys)
    assert code == 2 and "invalid retrain rules" in flat(msg) and "max_auc_dorp" in flat(msg)
    assert "Traceback" not in msg
    code, msg = run(["retrain", "--train-from", "2009-06-01", "--train-to", "2010-12-31", "--oot-from", "2010-07-01",
                     "--oot-to", "2011-06-30", "--data", str(lc_csv), "--out", str(tmp_path / "ch.json")], capsys)
    assert code == 2 and "must start after train_window" in flat(msg) and "Traceback" not in msg
    assert not (tmp_path / "ch.json").exists()


def test_registry_copy_is_independent_of_the_source(model_file, tmp_path, capsys):
    src = tmp_path / "model.json"
    shutil.copyfile(model_file, src)
    reg = tmp_path / "registry"
    assert run(["models", "register", str(src), "--registry", str(reg)], capsys)[0] == 0
    src.write_text("{}")  # the user's file changes after registration; the registered copy does not
    code, text = run(["models", "promote", "v1", "--registry", str(reg)], capsys)
    assert code == 0, text
    assert lendscore.load(Registry(reg).champion()[1]).selected_features_

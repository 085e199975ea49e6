"""The monitoring command line end to end on a Lending Club slice: the model registry (register, list,
show, promote, retire, rollback; a corrupted model is never promoted), ``lendscore monitor`` on every
source it reads (a decisions file shaped like the audit store's frame, the service's SQLite audit store
of raw applications, a ``lendscore score`` output, ``lendscore decide`` outputs, a raw file of
applications; drift of every characteristic, input warnings, outcomes refused and counted, the HTML
report) and ``lendscore retrain`` on the user's own data (rules that refuse and rules that allow the
promotion; the challenger is a model file like a trained one; nothing is written when it fails).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil

import numpy as np
import pandas as pd
import pytest

import lendscore
from cli_helpers import flat, lending_club_sample, run, train_out_of_time
from lendscore.data import get_profile, prepare
from lendscore.monitoring import Registry, drift, load_monitoring_data
from lendscore.monitoring.sources import applications

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
    frame = pd.DataFrame(
        {
            "decision_id": [f"d{i:05d}" for i in range(len(X))],
            "created_at": time.dt.tz_localize("UTC").map(lambda t: t.isoformat()),
            "model_version": "v1",
            "outcome": np.select([details["score"] >= 555, details["score"] >= 530], ["approve", "refer"], "decline"),
            "pd": details["pd"].to_numpy(),
            "score": details["score"].to_numpy(),
            "grade": details["grade"].to_numpy(),
        }
    )
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
    code, text = run(
        [
            "models",
            "register",
            str(model_file),
            *r,
            "--version",
            "v2",
            "--by",
            "alice",
            "--why",
            "same model, second name",
        ],
        capsys,
    )
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
    assert (
        code == 2 and "is the champion" in flat(text) and "Traceback" not in text
    )  # retiring the champion needs --force
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
    outcomes = pd.DataFrame(
        {
            "decision_id": ids,
            "defaulted": y.astype(int).to_numpy(),
            "outcome_date": (time + pd.DateOffset(months=6)).dt.strftime("%Y-%m-%d"),
        }
    )
    bad_rows = pd.DataFrame(
        {
            "decision_id": ["no-such-decision", ids[1], ids[2]],
            "defaulted": [0, 1 - int(y.iloc[1]), 0],
            "outcome_date": ["2011-08-01", "2011-09-01", "2010-06-01"],  # the last is before its decision
        }
    )
    outcomes_csv = tmp_path / "outcomes.csv"
    # ids[2]'s only outcome is the one dated before its decision (otherwise it would be a duplicate)
    pd.concat([outcomes.drop(index=2), bad_rows]).to_csv(outcomes_csv, index=False)
    report = tmp_path / "monitoring.html"

    code, text = run(
        [
            "monitor",
            str(decisions_csv),
            "--outcomes",
            str(outcomes_csv),
            "--model",
            str(model_file),
            "--maturity",
            "1",
            "--as-of",
            "2012-12-31",
            "--out",
            str(report),
        ],
        capsys,
    )
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
    code, msg = run(["monitor", str(decisions_csv), "--registry", str(reg), "--out", str(tmp_path / "m.html")], capsys)
    assert code == 2 and "has no champion; promote a model first" in flat(msg) and not (tmp_path / "m.html").exists()
    assert run(["models", "promote", "v1", "--registry", str(reg)], capsys)[0] == 0
    code, text = run(
        ["monitor", str(decisions_csv), "--registry", str(reg), "--period", "W", "--out", str(tmp_path / "m.html")],
        capsys,
    )
    assert code == 0 and (tmp_path / "m.html").stat().st_size > 10_000, text
    code, msg = run(
        [
            "monitor",
            str(decisions_csv),
            "--model",
            str(model_file),
            "--time-column",
            "decided_on",
            "--out",
            str(tmp_path / "x.html"),
        ],
        capsys,
    )
    assert code == 2 and "column 'decided_on' is missing" in flat(msg) and "Traceback" not in msg


# ---------------------------------------------------------------------------------------- every source
def _clean(v):
    """A frame value as JSON would carry it: None for missing, plain Python numbers."""
    if v is None or v is pd.NA or (isinstance(v, float) and v != v):
        return None
    return v.item() if isinstance(v, np.generic) else v


@pytest.fixture(scope="module")
def model(model_file):
    return lendscore.load(model_file)


@pytest.fixture(scope="module")
def raw_2011(lc_csv, model, tmp_path_factory):
    """The 2011 applications as raw rows under the model's own names: the fields a person is asked
    for (issue_d, earliest_cr_line, annual_inc, dti, Lending Club's own grade, ...); no credit age,
    instalment, NTH or NTH share, which the model file derives."""
    raw = pd.read_csv(lc_csv)
    raw = raw[raw["issue_d"] >= "2011-01-01"].reset_index(drop=True)
    cols = [c for c in raw.columns if c in set(model.inputs_.requested)]
    assert {"issue_d", "earliest_cr_line", "grade"} <= set(cols)
    assert not {"credit_age_months", "installment", "nth", "nth_ratio"} & set(cols)
    path = tmp_path_factory.mktemp("raw") / "applications_2011.csv"
    raw[cols].to_csv(path, index=False)
    return raw[cols], path


@pytest.fixture(scope="module")
def raw_drift(model, raw_2011):
    """Drift of the raw 2011 file, dated by issue_d: what every other source must reproduce."""
    data = load_monitoring_data(raw_2011[1], model, time_column="issue_d")
    return data, drift(data.decisions, model, warnings=data.warnings)


def _csi(d):
    return d.characteristics.sort_values(["period", "characteristic"]).reset_index(drop=True)


def test_monitor_a_raw_file_derives_and_scores_it(model_file, model, raw_2011, raw_drift, tmp_path, capsys):
    raw, path = raw_2011
    report = tmp_path / "raw.html"
    code, text = run(
        ["monitor", str(path), "--model", str(model_file), "--time-column", "issue_d", "--out", str(report)], capsys
    )
    assert code == 0, text
    n = len(model.selected_features_)
    assert f"{len(raw)} decisions (applications), CSI of {n} of {n} characteristics" in flat(text)
    data, d = raw_drift
    frame = data.decisions
    # no score in the file: derived and scored with the model, as `lendscore score` scores the rows
    expected = model.score_details(pd.read_csv(path))
    assert data.scored == len(raw)
    np.testing.assert_array_equal(frame["score"].to_numpy(), expected["score"].to_numpy())
    assert frame["grade"].tolist() == expected["grade"].tolist()
    assert frame[["input.credit_age_months", "input.installment", "input.nth", "input.nth_ratio"]].notna().all().all()
    # Lending Club's own grade is an input (input.grade), never the model's output grade
    assert "grade" in model.selected_features_
    assert frame["input.grade"].tolist() == raw["grade"].tolist()
    assert set(frame["grade"]) - set("ABCDEFG")  # the model's master scale runs further than LC's A-G
    # every characteristic has its CSI every month; grade's by hand, from LC's grades of March
    assert list(d.score["period"]) == [f"2011-{m:02d}" for m in range(1, 13)]
    assert (d.characteristics.groupby("period")["characteristic"].apply(set) == set(model.selected_features_)).all()
    from lendscore.monitoring import psi, reference_from_model
    from lendscore.monitoring.drift import bin_codes

    march = raw["issue_d"].str.startswith("2011-03").to_numpy()
    b = model.binnings_["grade"]
    counts = np.bincount(bin_codes(b, raw.loc[march, "grade"]), minlength=b.n_bins)
    by_hand = psi(reference_from_model(model).characteristics["grade"], counts).psi
    csi = d.characteristics.set_index(["period", "characteristic"])["psi"]
    assert csi[("2011-03", "grade")] == pytest.approx(by_hand, rel=1e-12)
    # input warnings counted per month: the model's own warnings of the raw rows
    w = model.input_warnings(pd.read_csv(path))
    month = raw["issue_d"].str[:7].to_numpy()
    by_month = pd.Series(month[w["row"].to_numpy()]).value_counts().sort_index()
    assert len(w) > 0
    assert d.warnings.groupby("period")["n"].sum().to_dict() == by_month.to_dict()
    html = report.read_text(encoding="utf-8")
    assert "CSI not computed" not in html and f"Input warnings per period ({len(w)})" in html


def test_monitor_a_score_output(model_file, model, raw_2011, raw_drift, tmp_path, capsys):
    _, path = raw_2011
    scored = tmp_path / "scored.csv"
    code, text = run(["score", "--model", str(model_file), "--input", str(path), "--output", str(scored)], capsys)
    assert code == 0, text
    assert {"grade", "lendscore_grade", "lendscore_score", "lendscore_pd"} <= set(pd.read_csv(scored).columns)
    code, text = run(
        [
            "monitor",
            str(scored),
            "--model",
            str(model_file),
            "--time-column",
            "issue_d",
            "--out",
            str(tmp_path / "m.html"),
        ],
        capsys,
    )
    assert code == 0, text
    n = len(model.selected_features_)
    assert f"(score), CSI of {n} of {n} characteristics" in flat(text)
    data = load_monitoring_data(scored, model, time_column="issue_d")
    assert data.kind == "score" and data.scored == 0  # the file's own scores
    ref_data, ref = raw_drift
    np.testing.assert_allclose(data.decisions["score"], ref_data.decisions["score"], rtol=1e-12)
    assert data.decisions["input.grade"].tolist() == ref_data.decisions["input.grade"].tolist()
    d = drift(data.decisions, model, warnings=data.warnings)
    pd.testing.assert_frame_equal(_csi(d), _csi(ref))
    pd.testing.assert_frame_equal(d.warnings, ref.warnings)


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_monitor_a_decide_output(suffix, model_file, model, raw_2011, raw_drift, tmp_path, capsys):
    raw, path = raw_2011
    decided = tmp_path / f"decisions{suffix}"
    code, text = run(["decide", "--model", str(model_file), "--input", str(path), "--output", str(decided)], capsys)
    assert code == 0, text
    code, text = run(["monitor", str(decided), "--model", str(model_file), "--out", str(tmp_path / "m.html")], capsys)
    assert code == 0, text
    n = len(model.selected_features_)
    assert f"{len(raw)} decisions (decide), CSI of {n} of {n} characteristics" in flat(text)
    data = load_monitoring_data(decided, model)
    has_decided_at = "decided_at" in (
        pd.read_csv(decided, nrows=1).columns if suffix == ".csv" else json.loads(decided.read_text().splitlines()[0])
    )
    # dated by the decision when the output carries its time, else by the application's own date
    assert data.time_column == ("decided_at" if has_decided_at else "issue_d")
    assert data.scored == 0  # the decisions' own scores
    # dated by the application date, the decisions drift exactly as the raw file does
    by_issue = load_monitoring_data(decided, model, time_column="issue_d")
    ref_data, ref = raw_drift
    np.testing.assert_allclose(by_issue.decisions["score"], ref_data.decisions["score"], rtol=1e-12)
    assert by_issue.decisions["input.grade"].tolist() == raw["grade"].tolist()
    d = drift(by_issue.decisions, model, warnings=by_issue.warnings)
    pd.testing.assert_frame_equal(_csi(d), _csi(ref))
    pd.testing.assert_frame_equal(d.warnings, ref.warnings)


def audit_records(model, raw: pd.DataFrame, *, seed: int = 0):
    """Decision records as the service stores them, of raw Lending Club applications: no application
    date (the decision dates it), no derived field; every other application also sends finances
    (without deductions: the decision estimates them, 20 % of gross, and the stored result says so)
    and its loan. pd, score and grade are the model's for the application as decided."""
    from lendscore.service.audit import DecisionRecord, new_id

    rng = np.random.default_rng(seed)
    fields = [f for f in model.inputs_.requested if f != "issue_d" and f in raw.columns]
    out = []
    for i, row in enumerate(raw.to_dict(orient="records")):
        created = (
            pd.Timestamp(row["issue_d"]) + pd.Timedelta(days=int(rng.integers(0, 27)), hours=int(rng.integers(8, 18)))
        ).tz_localize("UTC")
        applicant = {f: _clean(row[f]) for f in fields}
        finances = loan = None
        result: dict = {"affordability": None}
        scored = dict(applicant)
        if i % 2 == 0:
            gross = round(float(row["annual_inc"]) / 12.0, 2)
            finances = {"gross_income": gross, "existing_obligations": round(float(row["dti"]) / 100.0 * gross, 2)}
            loan = {
                "amount": float(row["loan_amnt"]),
                "annual_rate": float(row["int_rate"]),
                "term_months": int(row["term"]),
            }
            result = {"affordability": {"deductions": 0.2 * gross}}
            scored.update(finances={**finances, "deductions": 0.2 * gross}, loan=loan)
        s = model.predict_one(scored, decision_date=created.date())
        out.append(
            DecisionRecord(
                decision_id=new_id(),
                request_id=f"r{i}",
                created_at=created.to_pydatetime(),
                model_version="v1",
                policy_version="p1",
                outcome=["approve", "refer", "decline"][i % 3],
                pd=s["pd"],
                score=s["score"],
                grade=s["grade"],
                inputs={"applicant": applicant, "finances": finances, "loan": loan, "applicant_id": f"A{i}"},
                result={**result, "pd": s["pd"]},
                api_key_name="test",
                applicant_id=f"A{i}",
            )
        )
    return out


def write_store(url: str, records, outcomes=()):
    from lendscore.service.audit_sql import SqlAuditStore

    store = SqlAuditStore(url)
    store.start()
    try:
        store.submit_decisions(records).result(timeout=120)
        if outcomes:
            assert not any(isinstance(r, Exception) for r in store.submit_outcomes(list(outcomes)).result(timeout=120))
    finally:
        store.close()


@pytest.fixture(scope="module")
def audit_store(model, lc_csv, raw_2011, tmp_path_factory):
    """A SQLite audit store written by the service's store: 1,200 raw 2011 applications, with the
    outcomes of the first half-year."""
    import datetime as dt

    from lendscore.service.audit import OutcomeRecord

    raw, _ = raw_2011
    status = pd.read_csv(lc_csv).query("issue_d >= '2011-01-01'")["loan_status"].reset_index(drop=True)
    pick = np.sort(np.random.default_rng(1).choice(len(raw), 1200, replace=False))
    sample = raw.iloc[pick].reset_index(drop=True)
    records = audit_records(model, sample)
    outcomes = [
        OutcomeRecord(
            r.decision_id,
            int(status.iloc[k] == "Charged Off"),
            dt.datetime(2012, 6, 30, tzinfo=dt.UTC),
            "test",
            (r.created_at + dt.timedelta(days=180)).date(),
        )
        for r, k in zip(records, pick, strict=True)
        if r.created_at.month <= 6
    ]
    path = tmp_path_factory.mktemp("audit") / "audit.db"
    write_store(f"sqlite:///{path}", records, outcomes)
    return path, records, outcomes


def test_monitor_the_audit_store_of_raw_applications(model_file, model, audit_store, tmp_path, capsys):
    path, records, outcomes = audit_store
    report, summary = tmp_path / "audit.html", tmp_path / "audit.json"
    code, text = run(
        [
            "monitor",
            str(path),
            "--model",
            str(model_file),
            "--maturity",
            "1",
            "--as-of",
            "2012-12-31",
            "--out",
            str(report),
            "--json",
            str(summary),
        ],
        capsys,
    )
    assert code == 0, text
    n = len(model.selected_features_)
    assert f"{len(records)} decisions (audit), CSI of {n} of {n} characteristics" in flat(text)
    assert f"outcomes {len(outcomes)} accepted / 0 refused" in text
    html = report.read_text(encoding="utf-8")
    assert "CSI not computed" not in html and "Realised performance by vintage" in html
    doc = json.loads(summary.read_text(encoding="utf-8"))
    assert len(doc["csi"]) == 12 * n and all(row["csi"] is not None for row in doc["csi"])
    assert {row["characteristic"] for row in doc["csi"]} == set(model.selected_features_)
    assert doc["periods"] == [f"2011-{m:02d}" for m in range(1, 13)] and len(doc["score_psi"]) == 12
    assert doc["model"]["kind"] == "audit" and doc["outcomes"]["n_accepted"] == len(outcomes)
    assert sum(v["n_outcome"] for v in doc["performance"]["vintages"]) == len(outcomes)
    data = load_monitoring_data(path, model)
    frame = data.decisions
    assert data.kind == "audit" and data.time_column == "created_at" and len(data.outcomes) == len(outcomes)
    # the applications carry no issue_d: each is dated by its decision, as the service dated it
    assert frame["input.issue_d"].tolist() == frame["created_at"].dt.strftime("%Y-%m-%d").tolist()
    # the deductions each decision estimated are read back from its stored result
    fin = frame["input.finances.gross_income"].notna().to_numpy()
    assert fin.sum() == len(records) // 2
    np.testing.assert_allclose(
        frame.loc[fin, "input.finances.deductions"], 0.2 * frame.loc[fin, "input.finances.gross_income"], rtol=1e-12
    )
    # so every stored application re-derives and re-scores to the score its decision logged
    assert {"nth", "nth_ratio"} <= set(model.selected_features_)
    rescored = model.score_details(applications(frame))
    np.testing.assert_allclose(rescored["score"].to_numpy(), frame["score"].to_numpy(), rtol=0, atol=1e-9)
    d = drift(frame, model, warnings=data.warnings)
    assert (d.characteristics.groupby("period")["characteristic"].apply(set) == set(model.selected_features_)).all()
    assert len(d.characteristics) == n * 12
    # the same store through an SQLAlchemy URL reads the same frame
    by_url = load_monitoring_data(f"sqlite:///{path}", model)
    pd.testing.assert_frame_equal(by_url.decisions, frame)
    code, text2 = run(
        [
            "monitor",
            f"sqlite:///{path}",
            "--model",
            str(model_file),
            "--maturity",
            "1",
            "--as-of",
            "2012-12-31",
            "--out",
            str(tmp_path / "url.html"),
        ],
        capsys,
    )
    assert code == 0 and f"{len(records)} decisions (audit), CSI of {n} of {n}" in flat(text2), text2


def test_monitor_refuses_bad_sources(model_file, raw_2011, audit_store, tmp_path, capsys):
    raw, _ = raw_2011
    bad = raw.head(50).copy()
    bad.loc[7, "earliest_cr_line"] = "2013-01-01"  # after the application date
    path = tmp_path / "bad.csv"
    bad.to_csv(path, index=False)
    code, msg = run(["monitor", str(path), "--model", str(model_file), "--out", str(tmp_path / "x.html")], capsys)
    assert code == 2 and "earliest_cr_line must not be after the application date" in flat(msg), msg
    assert "Traceback" not in msg and not (tmp_path / "x.html").exists()
    code, msg = run(
        ["monitor", str(tmp_path / "nothing.db"), "--model", str(model_file), "--out", str(tmp_path / "x.html")], capsys
    )
    assert code == 2 and "SQLite audit database not found" in flat(msg)
    code, msg = run(
        [
            "monitor",
            str(audit_store[0]),
            "--model",
            str(model_file),
            "--decisions-table",
            "nope",
            "--out",
            str(tmp_path / "x.html"),
        ],
        capsys,
    )
    assert code == 2 and "no table 'nope'" in flat(msg)
    code, msg = run(
        [
            "monitor",
            str(raw_2011[1]),
            "--model",
            str(model_file),
            "--outcomes",
            str(path),
            "--out",
            str(tmp_path / "x.html"),
        ],
        capsys,
    )
    assert code == 2 and "outcomes need an id" in flat(msg)


# ---------------------------------------------------------------------------------------- retrain
RETRAIN_WINDOWS = [
    "--train-from",
    "2009-06-01",
    "--train-to",
    "2010-06-30",
    "--oot-from",
    "2010-07-01",
    "--oot-to",
    "2010-12-31",
]
LENIENT = {"max_auc_drop": 1.0, "calibration_tolerance": 1.0, "max_csi": 1e6, "min_oot_rows": 100, "min_oot_events": 10}


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
    code, text = run(
        [
            "retrain",
            str(lc_csv),
            "--profile",
            PROFILE,
            *RETRAIN_WINDOWS,
            "--out",
            str(tmp_path / "ch.json"),
            "--registry",
            str(reg),
            "--rules",
            str(rules),
            "--version",
            "ch1",
            "--by",
            "bot",
        ],
        capsys,
    )
    assert code == 0, text
    assert "[FAIL] auc" in text and "keep the champion: failed auc" in text and "promoted" not in text
    registry = Registry(reg)
    assert registry.champion()[0] == "v1"
    entry = registry.get("ch1")
    assert entry["state"] == "candidate" and entry["registered_by"] == "bot"
    assert entry["source"] == str(tmp_path / "ch.json")
    assert entry["retrain"]["promote"] is False
    auc = next(s for s in entry["retrain"]["steps"] if s["step"] == "auc")
    assert auc["passed"] is False and auc["value"] < 0
    meta = lendscore.load(tmp_path / "ch.json").metadata_
    assert meta["training_window"] == {"start": "2009-06-01", "end": "2010-06-30"}
    assert meta["test_window"] == {"start": "2010-07-01", "end": "2010-12-31"}
    assert meta["retrain"]["promote"] is False and meta["profile"] == PROFILE
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ch.json", "registry", "strict.json"]  # no temporary left


def test_retrain_promotes_a_challenger_that_is_a_trained_model(model_file, lc_csv, tmp_path, capsys):
    reg = tmp_path / "registry"
    _registry_with_champion(model_file, reg, capsys)
    rules = tmp_path / "lenient.json"
    rules.write_text(json.dumps(LENIENT))
    code, text = run(
        [
            "retrain",
            str(lc_csv),
            "--profile",
            PROFILE,
            *RETRAIN_WINDOWS,
            "--out",
            str(tmp_path / "ch.json"),
            "--registry",
            str(reg),
            "--rules",
            str(rules),
            "--version",
            "ch1",
            "--by",
            "bot",
        ],
        capsys,
    )
    assert code == 0, text
    assert "promote: every rule holds; registered ch1; promoted to champion" in text
    assert text.count("[pass]") == 4
    registry = Registry(reg)
    assert registry.champion()[0] == "ch1" and registry.get("v1")["state"] == "retired"
    promotion = registry.history()[-1]
    assert promotion["action"] == "promote" and promotion["by"] == "bot" and promotion["why"].startswith("retrain:")
    assert promotion["after"] == {"ch1": "champion", "v1": "retired"}
    # the challenger is a model file like `lendscore train`'s: the same inputs section (derivation
    # included), typed metadata, the monitoring reference
    champion, challenger = lendscore.load(model_file), lendscore.load(registry.champion()[1])
    assert challenger.inputs_.derivation == champion.inputs_.derivation
    assert challenger.inputs_.derivation.operations and set(challenger.inputs_.names) == set(champion.inputs_.names)
    assert set(challenger.metadata_) >= {
        "training_window",
        "test_window",
        "metrics",
        "monitoring_reference",
        "retrain",
        "source",
        "profile",
        "target",
    }
    assert challenger.metadata_["metrics"]["oot"]["auc"] == pytest.approx(registry.get("ch1")["metrics"]["oot"]["auc"])
    # one applicant, one answer: a raw applicant (no credit age, no NTH) scores as its row of the frame
    raw = pd.read_csv(lc_csv)
    rows = raw[raw["issue_d"] >= "2011-01-01"].head(25)[list(challenger.inputs_.requested)]
    proba = challenger.predict_proba(rows)[:, 1]
    for i, row in enumerate(rows.to_dict(orient="records")):
        one = challenger.predict_one({k: _clean(v) for k, v in row.items()})
        assert one["pd"] == pytest.approx(proba[i], rel=1e-12)


def test_retrain_on_your_own_data(tmp_path, lc_csv, capsys):
    """A lender's own file (its own column names, outcome 0/1, its own date column), as
    `lendscore train` takes it: --target, --bad, --time-column and the strict --config."""
    raw = pd.read_csv(lc_csv)
    own = pd.DataFrame(
        {
            "application_date": raw["issue_d"],
            "defaulted": (raw["loan_status"] == "Charged Off").astype(int),
            "amount": raw["loan_amnt"],
            "rate": raw["int_rate"],
            "term": raw["term"],
            "grade": raw["grade"],
            "income": raw["annual_inc"],
            "dti": raw["dti"],
            "purpose": raw["purpose"],
            "inquiries": raw["inq_last_6mths"],
            "utilisation": raw["revol_util"],
            "employment": raw["emp_length"],
        }
    )
    data = tmp_path / "loans.csv"
    own.to_csv(data, index=False)
    config = tmp_path / "scorecard.toml"
    config.write_text("[scorecard]\nmax_n_bins = 4\nmax_rules = 0\n", encoding="utf-8")
    own_args = ["--target", "defaulted", "--bad", "1", "--time-column", "application_date", "--config", str(config)]
    champ = tmp_path / "champion"
    code, text = run(["train", str(data), *own_args, "--test-from", "2010-07-01", "--out", str(champ)], capsys)
    assert code == 0, text
    reg = tmp_path / "registry"
    _registry_with_champion(champ / "model.json", reg, capsys)
    rules = tmp_path / "lenient.json"
    rules.write_text(json.dumps(LENIENT))
    out = tmp_path / "challenger.json"
    code, text = run(
        [
            "retrain",
            str(data),
            *own_args,
            "--train-from",
            "2009-06-01",
            "--train-to",
            "2010-12-31",
            "--oot-from",
            "2011-01-01",
            "--oot-to",
            "2011-12-31",
            "--registry",
            str(reg),
            "--rules",
            str(rules),
            "--version",
            "ch1",
            "--by",
            "bot",
            "--out",
            str(out),
        ],
        capsys,
    )
    assert code == 0, text
    assert "promoted to champion" in text and f"wrote {out}" in flat(text)
    n_2011 = int((own["application_date"] >= "2011-01-01").sum())
    assert f"compared on {n_2011:,} out of time (2011-01-01 .. 2011-12-31)" in flat(text)
    challenger = lendscore.load(out)
    assert Registry(reg).champion()[0] == "ch1"
    assert lendscore.load(Registry(reg).champion()[1]).selected_features_ == challenger.selected_features_
    meta = challenger.metadata_
    assert meta["target"] == "defaulted" and meta["source"] == "loans.csv" and "profile" not in meta
    assert meta["training_window"] == {"start": "2009-06-01", "end": "2010-12-31"}
    assert meta["n_test"] == n_2011
    # the strict configuration of `train` applies: at most 4 bins per characteristic, no rules
    assert all(b.n_bins - 2 <= 4 for b in challenger.binnings_.values()) and not challenger.rules_
    assert set(challenger.feature_names_in_) == set(own.columns) - {"application_date", "defaulted"}
    # the challenger answers one applicant as it answers the frame
    rows = own[own["application_date"] >= "2011-01-01"].drop(columns=["defaulted"]).head(30)
    proba = challenger.predict_proba(rows)[:, 1]
    for i, row in enumerate(rows.drop(columns=["application_date"]).to_dict(orient="records")):
        one = challenger.predict_one({k: _clean(v) for k, v in row.items()})
        assert one["pd"] == pytest.approx(proba[i], rel=1e-12)
        assert one["grade"] == challenger.score_details(rows.iloc[[i]])["grade"].iloc[0]


def test_retrain_refuses_bad_rules_windows_and_data(model_file, lc_csv, tmp_path, capsys):
    out = tmp_path / "ch.json"
    rules = tmp_path / "typo.json"
    rules.write_text(json.dumps({"max_auc_dorp": 0.02}))
    code, msg = run(
        ["retrain", str(lc_csv), "--profile", PROFILE, *RETRAIN_WINDOWS, "--out", str(out), "--rules", str(rules)],
        capsys,
    )
    assert code == 2 and "invalid retrain rules" in flat(msg) and "max_auc_dorp" in flat(msg)
    assert "Traceback" not in msg
    code, msg = run(
        [
            "retrain",
            str(lc_csv),
            "--profile",
            PROFILE,
            "--train-from",
            "2009-06-01",
            "--train-to",
            "2010-12-31",
            "--oot-from",
            "2010-07-01",
            "--oot-to",
            "2011-06-30",
            "--out",
            str(out),
        ],
        capsys,
    )
    assert code == 2 and "must start after train_window" in flat(msg) and "Traceback" not in msg
    code, msg = run(["retrain", str(lc_csv), *RETRAIN_WINDOWS, "--out", str(out)], capsys)
    assert code == 2 and "give --target COLUMN (and --bad VALUE) or --profile NAME" in flat(msg)
    code, msg = run(
        [
            "retrain",
            str(lc_csv),
            "--target",
            "loan_status",
            "--bad",
            "Charged Off",
            *RETRAIN_WINDOWS,
            "--out",
            str(out),
        ],
        capsys,
    )
    assert code == 2 and "retraining needs dates" in flat(msg)
    bad_config = tmp_path / "scorecard.toml"
    bad_config.write_text("[scorecard]\nmax_bins = 4\n", encoding="utf-8")
    code, msg = run(
        [
            "retrain",
            str(lc_csv),
            "--profile",
            PROFILE,
            *RETRAIN_WINDOWS,
            "--config",
            str(bad_config),
            "--out",
            str(out),
        ],
        capsys,
    )
    assert code == 2 and "unknown key 'scorecard.max_bins'" in flat(msg)
    # a champion that does not load fails the command after the fit: nothing is written to --out
    broken = tmp_path / "broken.json"
    broken.write_text(model_file.read_text()[:500])
    code, msg = run(
        ["retrain", str(lc_csv), "--profile", PROFILE, *RETRAIN_WINDOWS, "--champion", str(broken), "--out", str(out)],
        capsys,
    )
    assert code == 2 and "broken.json" in flat(msg) and "Traceback" not in msg
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.json", "scorecard.toml", "typo.json"]
    # bundled data keeps working, with its own profile
    code, text = run(
        [
            "retrain",
            "bundled:lending_club",
            "--train-from",
            "2009-01-01",
            "--train-to",
            "2010-06-30",
            "--oot-from",
            "2010-07-01",
            "--oot-to",
            "2010-12-31",
            "--out",
            str(out),
        ],
        capsys,
    )
    assert code == 0 and "no champion" in flat(text), text
    assert lendscore.load(out).metadata_["profile"] == PROFILE


def test_registry_copy_is_independent_of_the_source(model_file, tmp_path, capsys):
    src = tmp_path / "model.json"
    shutil.copyfile(model_file, src)
    reg = tmp_path / "registry"
    assert run(["models", "register", str(src), "--registry", str(reg)], capsys)[0] == 0
    src.write_text("{}")  # the user's file changes after registration; the registered copy does not
    code, text = run(["models", "promote", "v1", "--registry", str(reg)], capsys)
    assert code == 0, text
    assert lendscore.load(Registry(reg).champion()[1]).selected_features_

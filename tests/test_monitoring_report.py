"""Alerts (log events, webhook on a local http.server) and the HTML monitoring report."""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import numpy as np
import pandas as pd
import pytest

import lendscore
from lendscore.monitoring import build_reference, collect_alerts, drift, emit, performance_by_vintage, post_webhook


def make(seed=0):
    rng = np.random.default_rng(seed)
    n = 3000
    X = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.choice(["a", "b", "c"], n)})
    y = (rng.random(n) < 1 / (1 + np.exp(2 - X["x1"]))).astype(int)
    model = lendscore.Scorecard(max_rules=0, woe_cv=0).fit(X, y)
    frames = []
    for k, month in enumerate(["2024-01", "2024-02", "2024-03"]):
        Z = pd.DataFrame({"x1": rng.normal(0.8 * k, 1, 800), "x2": rng.choice(["a", "b", "c"], 800)})
        if month == "2024-02":
            Z.loc[:39, "x2"] = "d"  # 40 applicants of February name a category never seen in training
        det = model.score_details(Z)
        frames.append(
            Z.assign(
                created_at=pd.Timestamp(month + "-05", tz="UTC"),
                pd=det["pd"].to_numpy(),
                score=det["score"].to_numpy(),
                grade=det["grade"].to_numpy(),
                outcome=np.where(det["pd"] < 0.15, "approve", "decline"),
            )
        )
    dec = pd.concat(frames, ignore_index=True)
    dec["decision_id"] = [f"d{i}" for i in range(len(dec))]
    out = pd.DataFrame(
        {
            "decision_id": dec["decision_id"],
            "defaulted": (rng.random(len(dec)) < dec["pd"]).astype(int),
            "outcome_date": dec["created_at"] + pd.Timedelta(days=60),
        }
    )
    d = drift(dec, model, build_reference(model, X))
    p = performance_by_vintage(dec, out, as_of="2024-12-31", maturity_months=3)
    return model, d, p, dec


@pytest.fixture(scope="module")
def results():
    return make()


class _Hook(BaseHTTPRequestHandler):
    received: list = []
    status = 200

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append(json.loads(body))
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    _Hook.received = []
    _Hook.status = 200
    srv = HTTPServer(("127.0.0.1", 0), _Hook)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/hook"
    srv.shutdown()
    srv.server_close()
    th.join()


def test_alerts_and_log_events(results, caplog):
    _, d, p, _ = results
    alerts = collect_alerts(d, p)
    kinds = {(a.kind, a.period) for a in alerts}
    assert ("psi", "2024-03") in kinds and ("psi", "2024-01") not in kinds
    assert all(a.level in ("warning", "critical") for a in alerts)
    latest = collect_alerts(d, None, period="2024-03")
    assert {a.period for a in latest} == {"2024-03"}
    with caplog.at_level(logging.WARNING, logger="lendscore.monitoring"):
        res = emit(latest)
    assert res == {"n_alerts": len(latest), "webhook": None}
    assert sum(r.__dict__.get("event") == "monitoring_alert" for r in caplog.records) == len(latest)


def test_webhook_delivery(results, server):
    _, d, _, _ = results
    alerts = collect_alerts(d, None, period="2024-03")
    res = emit(alerts, webhook_url=server, timeout=2)
    assert res["webhook"] == {"ok": True, "status": 200, "error": None}
    assert _Hook.received[0]["n_alerts"] == len(alerts) and _Hook.received[0]["alerts"][0]["kind"]


def test_webhook_failures_never_raise(results, server, caplog):
    _, d, _, _ = results
    alerts = collect_alerts(d, None, period="2024-03")
    _Hook.status = 500
    with caplog.at_level(logging.WARNING, logger="lendscore.monitoring"):
        res = emit(alerts, webhook_url=server, timeout=2)
    assert res["webhook"]["ok"] is False and res["webhook"]["status"] == 500
    assert any("webhook failed" in r.getMessage() for r in caplog.records)
    # nothing listens on this port (the server was bound and closed); and a bad scheme
    closed = HTTPServer(("127.0.0.1", 0), _Hook)
    port = closed.server_address[1]
    closed.server_close()
    assert post_webhook(f"http://127.0.0.1:{port}/x", {"a": 1}, timeout=1)["ok"] is False
    assert "http(s)" in post_webhook("file:///etc/passwd", {})["error"]


def test_report_renders(results, tmp_path):
    from lendscore.reports.monitoring import MonitoringContext, write_monitoring_report

    model, d, p, dec = results
    ctx = MonitoringContext(
        title="Monitoring <test>",
        model_info={"version": "v1"},
        drift=d,
        performance=p,
        alerts=collect_alerts(d, p),
        retrain=[
            {
                "label": "2024-03",
                "summary": "keep",
                "promote": False,
                "steps": [{"step": "auc", "passed": False, "value": -0.02, "limit": -0.01, "detail": "worse"}],
            }
        ],
        outcome_rejections={"n_received": 3, "n_accepted": 2, "n_rejected": 1, "counts": {"duplicate": 1}},
    )
    path = write_monitoring_report(ctx, tmp_path / "r.html")
    html = path.read_text()
    assert "Monitoring &lt;test&gt;" in html  # autoescaped
    assert html.count("data:image/png;base64,") == 4
    for text in ("Score PSI", "Calibration by grade", "Retraining decisions", "duplicate 1", "2024-03"):
        assert text in html
    # the input warnings per period: the 40 categories never seen in training of 2024-02, and the
    # x1 values above the training maximum as the mean of x1 moves up
    top = model.inputs_.field("x1").training_max
    above = dec.loc[dec["x1"] > top, "created_at"].dt.strftime("%Y-%m").value_counts()
    expected = {
        ("2024-02", "x2", "unseen_category"): 40,
        **{(m, "x1", "above_training_range"): int(k) for m, k in above.items()},
    }
    assert d.warnings.set_index(["period", "field", "rule"])["n"].to_dict() == expected
    assert len(above) >= 1 and (d.warnings["n_rows"] == 800).all()
    assert f"Input warnings per period ({40 + int(above.sum())})" in html and "unseen_category" in html

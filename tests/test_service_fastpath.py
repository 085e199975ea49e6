"""The short path for POST /v1/decisions answers exactly as the FastAPI route does.

Two apps over the same model, policy, keys and clock, one with the short path and one without,
get the same requests (same request ids); statuses, headers, bodies and the stored audit rows must
agree, apart from the random decision ids. Requests the short path must hand to the route (no key,
bad JSON, invalid fields...) are checked to have been handed over, not answered.
"""

from __future__ import annotations

import datetime as dt
import json
import math

import pytest

from lendscore.errors import PolicyError
from lendscore.service import InMemoryAuditStore, create_app, load_settings
from lendscore.service.fastpath import DecisionFastPath
from lendscore.service.testing import sample_applications, test_client, write_settings

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def pair(tmp_path, model_path, keys, monkeypatch):
    settings = load_settings(
        write_settings(tmp_path / "settings.toml", model=model_path, audit_url="memory://", keys=keys), environ={}
    )
    answered: list[bool] = []
    original = DecisionFastPath.handle

    async def spy(self, scope, body, send):
        try:
            took = await original(self, scope, body, send)
        except Exception:
            answered.append("raised")
            raise
        answered.append(took)
        return took

    monkeypatch.setattr(DecisionFastPath, "handle", spy)
    fast = create_app(settings, store=InMemoryAuditStore(), clock=lambda: T0)
    slow = create_app(settings, store=InMemoryAuditStore(), clock=lambda: T0, fast_path=False)
    with test_client(fast, raise_server_exceptions=False) as a, test_client(slow, raise_server_exceptions=False) as b:
        yield a, b, answered


def _strip(payload):
    if isinstance(payload, dict):
        return {k: _strip(v) for k, v in payload.items() if k != "decision_id"}
    if isinstance(payload, list):
        return [_strip(v) for v in payload]
    return payload


def _same(pair, n: int, body: bytes | None, headers: dict[str, str]):
    a, b, _ = pair
    headers = {"X-Request-Id": f"req-{n}", **headers}
    ra = a.post("/v1/decisions", content=body, headers=headers)
    rb = b.post("/v1/decisions", content=body, headers=headers)
    assert ra.status_code == rb.status_code, (ra.text, rb.text)
    ha = {k: v for k, v in ra.headers.items() if k != "content-length"}
    hb = {k: v for k, v in rb.headers.items() if k != "content-length"}
    assert ha == hb
    assert _strip(ra.json()) == _strip(rb.json())
    return ra


APPS = sample_applications(12, seed=11)
RAW = sample_applications(6, seed=12, raw=True)  # dates, no derived fields: the model derives them
JSON = {"Content-Type": "application/json"}


def _with(body: dict, **applicant) -> dict:
    return {**body, "applicant": {**body["applicant"], **applicant}}


def test_answerable_requests_are_answered_by_the_short_path_identically(pair, keys):
    a, b, answered = pair
    scorer = {**JSON, "X-API-Key": keys["scorer"]}
    for i, app in enumerate(APPS[:6]):
        r = _same(pair, i, json.dumps(app).encode(), scorer)
        assert r.status_code == 200
    # a Bearer key, a media type with parameters, a higher role, a +json media type
    _same(pair, 10, json.dumps(APPS[6]).encode(), {**JSON, "Authorization": f"Bearer {keys['officer']}"})
    _same(
        pair,
        11,
        json.dumps(APPS[7]).encode(),
        {"Content-Type": "application/json; charset=utf-8", "X-API-Key": keys["admin"]},
    )
    _same(
        pair,
        12,
        json.dumps(APPS[8]).encode(),
        {"Content-Type": "application/vnd.loan+json", "X-API-Key": keys["scorer"]},
    )
    assert answered == [True] * 9
    rows = [a.app.state.service.store.decisions_frame(), b.app.state.service.store.decisions_frame()]
    assert len(rows[0]) == len(rows[1]) == 9
    cols = [c for c in rows[0].columns if c != "decision_id"]
    assert rows[0][cols].astype(str).equals(rows[1][cols].astype(str))
    results = [
        [_strip(json.loads(r.result_json)) for r in s.app.state.service.store.recent_decisions(9)] for s in (a, b)
    ]
    assert results[0] == results[1]


def test_raw_applications_and_their_warnings_are_answered_identically(pair, keys):
    a, b, answered = pair
    scorer = {**JSON, "X-API-Key": keys["scorer"]}
    bodies = RAW[:4] + [_with(RAW[4], purpose="space_travel", int_rate=0.29, issue_d=None)]
    for i, body in enumerate(bodies):
        r = _same(pair, 20 + i, json.dumps(body).encode(), scorer)
        assert r.status_code == 200, r.text
    assert answered == [True] * len(bodies)
    warned = r.json()["warnings"]
    assert {"field": "purpose", "rule": "unseen_category", "value": "space_travel"} in warned
    assert {"field": "int_rate", "rule": "above_training_range", "value": 0.29} in warned
    stored = [sorted(s.app.state.service.store.recent_decisions(9), key=lambda x: x.request_id) for s in (a, b)]
    results = [[_strip(json.loads(x.result_json)) for x in rows] for rows in stored]
    assert results[0] == results[1] and results[0][-1]["warnings"] == warned
    inputs = [[x.inputs for x in rows] for rows in stored]
    assert inputs[0] == inputs[1] and inputs[0][-1]["finances"]["deductions"] > 0  # completed, as decided
    assert (
        inputs[0][-1]["applicant"]["issue_d"] is None
        and inputs[0][0]["applicant"]["issue_d"] == RAW[0]["applicant"]["issue_d"]
    )


def test_a_derivation_refusal_is_handed_to_the_route(pair, keys):
    a, b, answered = pair
    body = _with(RAW[0], issue_d="2011-06-01", earliest_cr_line="2011-09-01")
    r = _same(pair, 30, json.dumps(body).encode(), {**JSON, "X-API-Key": keys["scorer"]})
    assert r.status_code == 422 and answered == [False]
    assert r.json()["errors"][0]["field"] == "applicant.earliest_cr_line"
    assert r.json()["errors"][0]["rule"] == "must not be after the application date (issue_d)"
    assert r.json()["request_id"] == "req-30"
    assert len(a.app.state.service.store.decisions_frame()) == len(b.app.state.service.store.decisions_frame()) == 0


def _non_finite_pd(decide):
    def wrapped(*args, **kwargs):
        return {**decide(*args, **kwargs), "pd": math.nan}

    return wrapped


@pytest.mark.parametrize(
    ("case", "rule", "message"),
    [
        ("policy", "policy", "knock-out 'age': field 'age' = 'x' cannot be compared with < 18"),
        ("overflow", "too_large_to_compute", "the amounts are too large to compute with (OverflowError)"),
        ("non-finite", "too_large_to_compute", "the amounts are too large to compute with; pd came out non-finite"),
    ],
)
def test_a_refusal_while_deciding_is_one_422_naming_field_and_rule(pair, keys, monkeypatch, case, rule, message):
    """The decision service raises one exception type for whatever refuses an application while
    deciding (the derivation, the policy, arithmetic, a non-finite result); the short path hands it to
    the route and the app answers it as a request validation error, storing nothing."""
    a, b, answered = pair
    for client in (a, b):
        eng = client.app.state.service.engine

        def refuse(*args, **kwargs):
            raise PolicyError(message) if case == "policy" else OverflowError("math range error")

        monkeypatch.setattr(
            eng, "decide_application", _non_finite_pd(eng.decide_application) if case == "non-finite" else refuse
        )
    r = _same(pair, 40, json.dumps(APPS[0]).encode(), {**JSON, "X-API-Key": keys["scorer"]})
    assert r.status_code == 422 and answered == [False]
    assert r.json() == {
        "detail": "request validation failed",
        "request_id": "req-40",
        "errors": [{"field": "(body)", "rule": rule, "message": message}],
    }
    assert len(a.app.state.service.store.decisions_frame()) == len(b.app.state.service.store.decisions_frame()) == 0


def test_idempotent_replay_and_conflict_match(pair, keys):
    _, _, answered = pair
    hdr = {**JSON, "X-API-Key": keys["scorer"], "Idempotency-Key": "order-9"}
    first = _same(pair, 1, json.dumps(APPS[0]).encode(), hdr)
    again = _same(pair, 2, json.dumps(APPS[0]).encode(), hdr)
    assert again.headers["idempotent-replayed"] == "true" and "idempotent-replayed" not in first.headers
    clash = _same(pair, 3, json.dumps(APPS[1]).encode(), hdr)
    assert clash.status_code == 409
    assert answered == [True, True, True]


@pytest.mark.parametrize(
    ("case", "body", "headers"),
    [
        ("no key", json.dumps(APPS[0]), {}),
        ("unknown key", json.dumps(APPS[0]), {"X-API-Key": "not-a-key"}),
        ("malformed JSON", '{"applicant": ', None),
        ("invalid field", json.dumps({**APPS[0], "loan": {**APPS[0]["loan"], "term_months": 0}}), None),
        ("unknown field", json.dumps({**APPS[0], "surprise": 1}), None),
        ("not an object", "[1, 2]", None),
        ("empty body", "", None),
        ("text content type", json.dumps(APPS[0]), {"Content-Type": "text/plain"}),
        ("no content type", json.dumps(APPS[0]), {"Content-Type": ""}),
        ("bad idempotency key", json.dumps(APPS[0]), {"Idempotency-Key": "has space"}),
        ("bad date", json.dumps(_with(RAW[0], issue_d="2011-13-45")), None),
        ("out of the model's bounds", json.dumps(_with(RAW[0], annual_inc=-1)), None),
        ("credit line after the application", json.dumps(_with(RAW[0], earliest_cr_line="2012-01-01")), None),
    ],
)
def test_requests_the_route_must_refuse_are_handed_to_it(pair, keys, case, body, headers):
    _, _, answered = pair
    hdr = {**JSON, "X-API-Key": keys["scorer"], **(headers or {})}
    if case == "no key":
        hdr.pop("X-API-Key")
    r = _same(pair, 5, body.encode(), hdr)
    assert r.status_code in (401, 422), r.text
    assert answered == [False]  # handed over, nothing sent


def test_duplicate_header_is_handed_to_the_route(pair, keys):
    a, _, answered = pair
    r = a.post(
        "/v1/decisions",
        content=json.dumps(APPS[0]).encode(),
        headers=[("X-API-Key", keys["scorer"]), ("X-API-Key", "other"), ("Content-Type", "application/json")],
    )
    assert r.status_code == 200 and answered == [False]  # FastAPI reads the first


def test_store_failure_and_unexpected_errors_are_rendered_as_the_app_does(pair, keys, monkeypatch):
    a, b, answered = pair
    body, hdr = json.dumps(APPS[0]).encode(), {**JSON, "X-API-Key": keys["scorer"]}
    for client in (a, b):
        client.app.state.service.store.fail_writes = True
    r = _same(pair, 7, body, hdr)
    assert r.status_code == 503 and r.json()["request_id"] == "req-7"
    for client in (a, b):
        client.app.state.service.store.fail_writes = False

        def broken(*args, **kwargs):
            raise RuntimeError("model exploded")

        monkeypatch.setattr(client.app.state.service.engine, "decide_application", broken)
    r = _same(pair, 8, body, hdr)
    assert r.status_code == 500 and "exploded" not in r.text
    assert answered == [True, "raised"]  # the unexpected error left the short path for the app's handler

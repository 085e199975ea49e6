"""The decision service's HTTP API, end to end in process (TestClient) on SQLite and the fake store."""

from __future__ import annotations

import pytest

from lendscore.decision import Decision, ScoredApplicant, decide
from lendscore.service import InMemoryAuditStore, create_app, load_settings
from lendscore.service.schemas import BatchOut, DecisionOut
from lendscore.service.testing import (
    sample_applications,
    test_client,
    write_settings,
)


@pytest.fixture(scope="module")
def apps():
    return sample_applications(40, seed=3)


def _settings(tmp_path, model_path, keys, url, **extra):
    return load_settings(
        write_settings(tmp_path / "settings.toml", model=model_path, audit_url=url, keys=keys, **extra), environ={}
    )


@pytest.fixture(params=["sqlite", "memory"])
def client(request, tmp_path, model_path, keys):
    url = f"sqlite:///{tmp_path / 'audit.db'}" if request.param == "sqlite" else "memory://"
    app = create_app(_settings(tmp_path, model_path, keys, url, max_batch=50))
    with test_client(app) as c:
        c.app_state = app.state.service
        yield c


def h(keys, role):
    return {"X-API-Key": keys[role]}


def test_single_decision_is_stored_and_readable(client, keys, apps):
    r = client.post("/v1/decisions", json=apps[0], headers=h(keys, "scorer"))
    assert r.status_code == 200, r.text
    d = DecisionOut.model_validate(r.json())
    assert d.outcome in ("approve", "refer", "decline") and 0 < d.pd < 1
    assert d.model_version.startswith("lendscore-demo-model.json#sha256:")
    assert d.policy_version == "2026.1-example"
    assert d.affordability is not None and d.affordability.income == apps[0]["finances"]["gross_income"]
    assert d.request_id == r.headers["x-request-id"]
    assert abs(sum(d.points.values()) - d.score) < 1e-6
    got = client.get(f"/v1/decisions/{d.decision_id}", headers=h(keys, "officer"))
    assert got.status_code == 200 and got.json() == r.json()
    frame = client.app_state.store.decisions_frame()
    assert list(frame["decision_id"]) == [d.decision_id]
    assert frame.loc[0, "dti"] == apps[0]["applicant"]["dti"]
    assert frame.attrs["characteristics"]["grade"] == "applicant.grade"  # the input named like the output
    # the stored application is the one decided: the finances completed by the policy's deduction rate
    stored = client.app_state.store.get_decision(d.decision_id)
    gross = apps[0]["finances"]["gross_income"]
    assert stored.inputs["finances"]["deductions"] == client.app_state.engine.deduction_rate * gross > 0
    assert d.affordability.deductions == stored.inputs["finances"]["deductions"]
    assert stored.result["warnings"] == r.json()["warnings"]


def test_decision_matches_the_decision_package(client, apps):
    """The engine answers ``Decision.to_dict()`` (plus points and warnings)."""
    eng = client.app_state.engine
    for body in apps[:20]:
        app = eng.application(body["applicant"], body["finances"], body["loan"])
        s = eng.model.predict_one(app)
        scored = ScoredApplicant(
            pd=s["pd"],
            score=s["score"],
            grade=s["grade"],
            points=s["points"],
            model_version=eng.model_version,
            max_points=eng.max_points,
        )
        ref: Decision = decide(app, scored, eng.policy, eng.catalogue)
        ours = eng.decide(body["applicant"], body["finances"], body["loan"])
        assert {k: v for k, v in ours.items() if k not in ("points", "warnings")} == ref.to_dict()
        assert ours["points"] == s["points"] and ours["warnings"] == s["warnings"]


def test_decision_to_dict_spells_the_affordability_as_its_definition(model_path, apps):
    """Twin test: ``AffordabilityResult.to_dict()`` (used by ``Decision.to_dict()``) is written field by
    field without ``dataclasses.asdict`` (it is on every decision's path); it must equal the
    dataclass's own ``asdict``, keys in the same order (the stored and answered JSON text follows it),
    and the reasons ``ReasonCode.to_dict()``.
    Loans from easily affordable to unaffordable, with and without a counter-offer term, and no
    finances at all."""
    import dataclasses
    import json

    import lendscore
    from lendscore.decision import load_catalogue, load_policy
    from lendscore.engine import DecisionEngine

    catalogue = load_catalogue()
    eng = DecisionEngine(lendscore.load(model_path), "twin", load_policy(catalogue=catalogue), catalogue)
    seen = set()
    for body in apps:
        for scale in (0.1, 1.0, 4.0, 40.0):
            loan = {**body["loan"], "amount": body["loan"]["amount"] * scale}
            for finances in (body["finances"], None):
                app = eng.application(body["applicant"], finances, loan)
                s = eng.model.predict_one(app)
                d = decide(
                    app,
                    ScoredApplicant(
                        pd=s["pd"],
                        score=s["score"],
                        grade=s["grade"],
                        points=s["points"],
                        model_version="twin",
                        max_points=eng.max_points,
                    ),
                    eng.policy,
                    catalogue,
                )
                got = d.to_dict()
                a = d.affordability
                if a is None:
                    assert got["affordability"] is None
                    seen.add("none")
                    continue
                want = {**dataclasses.asdict(a), "failed_rules": list(a.failed_rules)}  # the definition
                assert got["affordability"] == want
                assert json.dumps(got["affordability"]) == json.dumps(want)  # same keys in the same order
                assert got["reasons"] == [r.to_dict() for r in d.reasons]
                seen.add(("passed" if a.passed else "failed", a.counter_offer.min_term is None))
    assert {"none", ("passed", False), ("failed", True)} <= seen, seen


def test_batch_is_stored_in_one_go(client, keys, apps):
    r = client.post("/v1/decisions/batch", json={"applications": apps[:25]}, headers=h(keys, "scorer"))
    assert r.status_code == 200, r.text
    out = BatchOut.model_validate(r.json())
    assert len(out.decisions) == 25 and len({d.decision_id for d in out.decisions}) == 25
    assert [d.applicant_id for d in out.decisions] == [a["applicant_id"] for a in apps[:25]]
    frame = client.app_state.store.decisions_frame()
    assert set(frame["decision_id"]) == {d.decision_id for d in out.decisions}


def test_batch_over_the_limit_is_refused(client, keys, apps):
    r = client.post("/v1/decisions/batch", json={"applications": (apps * 2)[:51]}, headers=h(keys, "scorer"))
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "applications" and r.json()["errors"][0]["rule"] == "too_long"
    assert len(client.app_state.store.decisions_frame()) == 0


@pytest.mark.parametrize(
    "mutate, field, rule",
    [
        (lambda b: b["applicant"].update(dti="high"), "applicant.dti", "float_parsing"),
        (lambda b: b["applicant"].update(favourite_colour="blue"), "applicant.favourite_colour", "extra_forbidden"),
        (lambda b: b.update(extra=1), "extra", "extra_forbidden"),
        (lambda b: b["loan"].update(term_months=0), "loan.term_months", "greater_than_equal"),
        (lambda b: b["loan"].update(annual_rate=3.0), "loan.annual_rate", "less_than_equal"),
        (lambda b: b["finances"].update(gross_income=-5), "finances.gross_income", "greater_than"),
        (lambda b: b["finances"].update(net_income=10**9), "finances", "value_error"),
        (lambda b: b.pop("applicant"), "applicant", "missing"),
        (lambda b: b["finances"].update(gross_income=1e300), "finances.gross_income", "less_than_equal"),
        (lambda b: b["loan"].update(amount=1e300), "loan.amount", "less_than_equal"),
        (lambda b: b["applicant"].update(dti=float("inf")), "applicant.dti", "finite_number"),
        (lambda b: b["applicant"].update(purpose="x" * 500), "applicant.purpose", "string_too_long"),
        # the model file's value rules and field types
        (lambda b: b["applicant"].update(annual_inc=-1.0), "applicant.annual_inc", "greater_than_equal"),
        (lambda b: b["applicant"].update(int_rate=1.5), "applicant.int_rate", "less_than_equal"),
        (lambda b: b["applicant"].update(issue_d="2011-13-45"), "applicant.issue_d", "date_from_datetime_parsing"),
        (lambda b: b["applicant"].update(earliest_cr_line=19990101), "applicant.earliest_cr_line", "date_type"),
        # the derivation's own rule, found while deciding
        (
            lambda b: b["applicant"].update(issue_d="2011-06-01", earliest_cr_line="2011-07-01"),
            "applicant.earliest_cr_line",
            "must not be after the application date (issue_d)",
        ),
    ],
)
def test_bad_input_names_field_and_rule_and_stores_nothing(client, keys, apps, mutate, field, rule):
    import copy

    body = copy.deepcopy(apps[1])
    mutate(body)
    import json

    r = client.post(
        "/v1/decisions",
        content=json.dumps(body).encode(),  # json.dumps lets inf through
        headers={**h(keys, "scorer"), "Content-Type": "application/json"},
    )
    assert r.status_code == 422
    errors = r.json()["errors"]
    assert {"field": field, "rule": rule} in [{"field": e["field"], "rule": e["rule"]} for e in errors], errors
    assert "Traceback" not in r.text
    assert len(client.app_state.store.decisions_frame()) == 0


def test_malformed_json_is_422(client, keys):
    r = client.post(
        "/v1/decisions", content=b"{not json", headers={**h(keys, "scorer"), "Content-Type": "application/json"}
    )
    assert r.status_code == 422 and r.json()["errors"][0]["rule"] == "json_invalid"


def test_idempotency_key_returns_the_stored_decision(client, keys, apps):
    hdr = {**h(keys, "scorer"), "Idempotency-Key": "order-77"}
    first = client.post("/v1/decisions", json=apps[2], headers=hdr)
    again = client.post("/v1/decisions", json=apps[2], headers=hdr)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json() and again.headers.get("idempotent-replayed") == "true"
    assert "idempotent-replayed" not in first.headers
    clash = client.post("/v1/decisions", json=apps[3], headers=hdr)
    assert clash.status_code == 409
    assert len(client.app_state.store.decisions_frame()) == 1
    # the same key from another client is another request
    other = client.post("/v1/decisions", json=apps[2], headers={**h(keys, "admin"), "Idempotency-Key": "order-77"})
    assert other.status_code == 200 and other.json()["decision_id"] != first.json()["decision_id"]


def test_idempotency_compares_the_request_as_sent(client, keys, apps, monkeypatch):
    """The stored finances are completed by the policy, but a replay compares the bodies as sent:
    the same body replays even when the deduction rate changed, a different one is still a 409."""
    import hashlib
    import json

    hdr = {**h(keys, "scorer"), "Idempotency-Key": "order-78"}
    first = client.post("/v1/decisions", json=apps[2], headers=hdr)
    stored = client.app_state.store.get_decision(first.json()["decision_id"])
    assert stored.inputs["finances"]["deductions"] is not None and apps[2]["finances"].get("deductions") is None
    sent = {**stored.inputs, "finances": {**stored.inputs["finances"], "deductions": None}}
    assert stored.request_sha256 == hashlib.sha256(json.dumps(sent, separators=(",", ":")).encode()).hexdigest()
    monkeypatch.setattr(client.app_state.engine, "deduction_rate", 0.35)
    again = client.post("/v1/decisions", json=apps[2], headers=hdr)
    assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    other = {**apps[2], "finances": {**apps[2]["finances"], "deductions": stored.inputs["finances"]["deductions"]}}
    assert client.post("/v1/decisions", json=other, headers=hdr).status_code == 409


def test_batch_idempotency(client, keys, apps):
    hdr = {**h(keys, "scorer"), "Idempotency-Key": "batch-1"}
    first = client.post("/v1/decisions/batch", json={"applications": apps[:3]}, headers=hdr)
    again = client.post("/v1/decisions/batch", json={"applications": apps[:3]}, headers=hdr)
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert len(client.app_state.store.decisions_frame()) == 3


def test_outcomes_are_recorded_once(client, keys, apps):
    d = client.post("/v1/decisions", json=apps[4], headers=h(keys, "scorer")).json()
    day = d["created_at"][:10]  # an outcome is dated on or after its decision's (UTC) day
    body = {"decision_id": d["decision_id"], "defaulted": True, "outcome_date": day}
    r = client.post("/v1/outcomes", json=body, headers=h(keys, "admin"))
    assert r.status_code == 201, r.text
    assert r.json()["defaulted"] is True
    assert client.post("/v1/outcomes", json=body, headers=h(keys, "admin")).status_code == 409
    missing = client.post("/v1/outcomes", json={**body, "decision_id": "nope"}, headers=h(keys, "admin"))
    assert missing.status_code == 404 and missing.json()["detail"].startswith("unknown_decision")
    early = client.post("/v1/outcomes", json={**body, "outcome_date": "2000-01-01"}, headers=h(keys, "admin"))
    assert early.status_code in (409, 422)  # the duplicate rule comes first
    frame = client.app_state.store.outcomes_frame()
    assert list(frame.columns) == ["decision_id", "defaulted", "reported_at", "outcome_date"]
    assert frame.loc[0, "defaulted"] == 1 and str(frame.loc[0, "outcome_date"].date()) == day
    d2 = client.post("/v1/decisions", json=apps[6], headers=h(keys, "scorer")).json()
    before = client.post(
        "/v1/outcomes",
        json={**body, "decision_id": d2["decision_id"], "outcome_date": "2000-01-01"},
        headers=h(keys, "admin"),
    )
    assert before.status_code == 422 and before.json()["detail"].startswith("before_decision")
    assert len(client.app_state.store.outcomes_frame()) == 1
    text = client.get("/metrics", headers=h(keys, "admin")).text
    for result, n in (("accepted", 1), ("duplicate", 2), ("unknown_decision", 1), ("before_decision", 1)):
        assert f'lendscore_outcomes_total{{result="{result}"}} {n}' in text


def test_models_scale_health_and_metrics(client, keys, apps):
    client.post("/v1/decisions", json=apps[5], headers=h(keys, "scorer"))
    m = client.get("/v1/models", headers=h(keys, "admin")).json()
    assert m["policy"]["version"] == "2026.1-example"
    assert {f["name"] for f in m["model"]["input_schema"]} >= {"dti", "purpose"}
    scale = client.get("/v1/scale", headers=h(keys, "officer")).json()
    assert scale["score_min"] < scale["score_max"] and scale["bands"][0]["outcome"] == "decline"
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").status_code == 200
    text = client.get("/metrics", headers=h(keys, "admin")).text
    assert 'lendscore_http_requests_total{method="POST",route="/v1/decisions",status="200"} 1' in text
    assert "lendscore_decisions_total{outcome=" in text
    assert "lendscore_http_request_duration_seconds_bucket" in text
    recent = client.get("/v1/decisions?limit=5", headers=h(keys, "officer")).json()
    assert len(recent) == 1 and recent[0]["applicant_id"] == apps[5]["applicant_id"]


def test_openapi_schema_describes_the_api(client, keys):
    schema = client.get("/openapi.json", headers=h(keys, "scorer")).json()
    for path in (
        "/v1/decisions",
        "/v1/decisions/batch",
        "/v1/decisions/{decision_id}",
        "/v1/outcomes",
        "/v1/models",
        "/healthz",
        "/readyz",
        "/metrics",
    ):
        assert path in schema["paths"], path
    applicant = schema["components"]["schemas"]["Applicant"]
    assert applicant["additionalProperties"] is False
    props = applicant["properties"]
    assert "dti" in props and "purpose" in props
    # the model file's rules: bounds, dates, categories
    # (every number within the magnitude rule's +-1e12 too, the field's own bound where tighter)
    assert {"type": "number", "minimum": 0.0, "maximum": 1e12} in props["annual_inc"]["anyOf"]
    assert {"type": "number", "minimum": 0.0, "maximum": 1.0} in props["int_rate"]["anyOf"]
    assert {"type": "string", "format": "date"} in props["issue_d"]["anyOf"]
    assert {"type": "string", "format": "date"} in props["earliest_cr_line"]["anyOf"]
    assert "derived" in props["nth"]["description"]  # still accepted, but derived when its fields are given
    out = schema["components"]["schemas"]["DecisionOut"]["properties"]
    assert out["warnings"]["items"]["$ref"].endswith("/WarningOut")


_ANSWERS = {
    ("post", "/v1/decisions"): {"200", "400", "401", "409", "413", "422", "503"},
    ("post", "/v1/decisions/batch"): {"200", "400", "401", "409", "413", "422", "503"},
    ("get", "/v1/decisions"): {"200", "401", "403", "422", "503"},
    ("get", "/v1/decisions/{decision_id}"): {"200", "401", "403", "404", "422", "503"},
    ("post", "/v1/outcomes"): {"201", "400", "401", "403", "404", "409", "413", "422", "503"},
    ("post", "/v1/outcomes/batch"): {"200", "400", "401", "403", "413", "422", "503"},
    ("get", "/v1/models"): {"200", "401", "403"},
    ("get", "/v1/scale"): {"200", "401", "403"},
    ("get", "/v1/whoami"): {"200", "401"},
    ("get", "/healthz"): {"200"},
    ("get", "/readyz"): {"200", "503"},
    ("get", "/metrics"): {"200", "401", "403"},
    ("get", "/ui/monitoring"): {"200", "401", "403", "503"},
}


def test_openapi_documents_every_answer_with_its_body(client, keys):
    schema = client.get("/openapi.json", headers=h(keys, "scorer")).json()
    ops = {(m, p): op for p, item in schema["paths"].items() for m, op in item.items()}
    assert {k: set(op["responses"]) for k, op in ops.items()} == _ANSWERS
    components = schema["components"]["schemas"]
    assert "HTTPValidationError" not in components  # FastAPI's default 422 body is never sent
    assert set(components["ValidationErrorOut"]["required"]) == {"detail", "errors"}
    for (method, path), op in ops.items():
        for status, response in op["responses"].items():
            assert "X-Request-ID" in response["headers"], (method, path, status)
            if status[0] in "45":  # every error body is JSON, on the HTML and text routes too
                (media,) = response["content"]
                assert media == "application/json", (method, path, status)
                body = response["content"][media]["schema"]
                if status == "422" and path != "/v1/outcomes":
                    assert body == {"$ref": "#/components/schemas/ValidationErrorOut"}, (method, path)
                elif status == "422":  # a request model's refusal or an outcome refused with a reason
                    assert [r["$ref"].rsplit("/", 1)[1] for r in body["anyOf"]] == ["ValidationErrorOut", "ErrorOut"]
                elif not (path == "/readyz" and status == "503"):
                    assert body == {"$ref": "#/components/schemas/ErrorOut"}, (method, path, status)
        if "401" in op["responses"]:
            assert "WWW-Authenticate" in op["responses"]["401"]["headers"]
    assert "Idempotent-Replayed" in ops[("post", "/v1/decisions")]["responses"]["200"]["headers"]
    # an outcome's date is required (absent or null: refused as missing_field), a rule between fields
    # is in the description of the object it binds, and every number is bounded
    outcome = components["OutcomeIn"]
    assert "outcome_date" in outcome["required"] and outcome["properties"]["outcome_date"]["format"] == "date"
    assert "must be <= gross_income" in components["FinancesIn"]["properties"]["net_income"]["description"]
    assert "earliest_cr_line must not be after the application date" in components["DecisionIn"]["description"]

    def numbers(node):
        if isinstance(node, dict):
            if node.get("type") == "number":
                yield node
            for v in node.values():
                yield from numbers(v)
        elif isinstance(node, list):
            for v in node:
                yield from numbers(v)

    for name in ("DecisionIn", "Applicant", "FinancesIn", "LoanRequestIn", "BatchIn"):
        for number in numbers(components[name]):
            assert ("minimum" in number or "exclusiveMinimum" in number) and "maximum" in number, (name, number)
            assert number["maximum"] <= 1e12 and number.get("minimum", 0) >= -1e12, (name, number)


def test_a_405_allows_every_method_of_its_path(client, keys):
    for method, path, allow in (
        ("OPTIONS", "/v1/decisions", "GET, POST"),
        ("DELETE", "/v1/decisions", "GET, POST"),
        ("GET", "/v1/decisions/batch", "POST"),  # the batch's path, not a decision id
        ("PUT", "/v1/decisions/some-id", "GET"),
        ("OPTIONS", "/v1/outcomes", "POST"),
        ("POST", "/healthz", "GET"),
    ):
        r = client.request(method, path, headers=h(keys, "admin"))
        assert r.status_code == 405 and r.headers["allow"] == allow, (method, path, r.headers.get("allow"))
        assert r.json()["request_id"] == r.headers["x-request-id"]
    assert client.get("/v1/decisions/batchx", headers=h(keys, "officer")).status_code == 404
    text = client.get("/metrics", headers=h(keys, "admin")).text
    assert 'route="/v1/decisions/{decision_id}",status="404"' in text  # the template, without its convertor


@pytest.mark.parametrize(
    "mutate, field, rule",
    [
        (lambda b: b["applicant"].update(dti=True), "applicant.dti", "float_type"),
        (lambda b: b["applicant"].update(dti="12.5"), "applicant.dti", "float_type"),
        (lambda b: b["finances"].update(gross_income="3000"), "finances.gross_income", "float_type"),
        (lambda b: b["loan"].update(annual_rate=False), "loan.annual_rate", "float_type"),
        (lambda b: b["loan"].update(term_months="36"), "loan.term_months", "int_type"),
        (lambda b: b["finances"].update(dependants=True), "finances.dependants", "int_type"),
        (lambda b: b["finances"].update(employer_undertaking="yes"), "finances.employer_undertaking", "bool_type"),
        (lambda b: b["applicant"].update(issue_d="2011-06-01T00:00:00"), "applicant.issue_d", "date_format"),
        (lambda b: b["applicant"].update(monthly_income=2e12), "applicant.monthly_income", "less_than_equal"),
        (lambda b: b["applicant"].update(nth=-2e12), "applicant.nth", "greater_than_equal"),
        (lambda b: b["applicant"].update(addr_state=2e12), "applicant.addr_state", "magnitude"),
    ],
)
def test_a_value_is_taken_only_as_the_schema_types_it(client, keys, apps, mutate, field, rule):
    import copy

    body = copy.deepcopy(apps[2])
    mutate(body)
    r = client.post("/v1/decisions", json=body, headers=h(keys, "scorer"))
    assert r.status_code == 422, r.text
    assert [(e["field"], e["rule"]) for e in r.json()["errors"]] == [(field, rule)]
    assert len(client.app_state.store.decisions_frame()) == 0


def test_outcome_types_and_missing_date(client, keys, apps):
    decision_id = client.post("/v1/decisions", json=apps[0], headers=h(keys, "scorer")).json()["decision_id"]
    for body in ({"defaulted": 1}, {"defaulted": "true"}, {"outcome_date": "2030-01-01T00:00:00"}):
        r = client.post(
            "/v1/outcomes",
            json={"decision_id": decision_id, "defaulted": True, "outcome_date": "2030-01-01", **body},
            headers=h(keys, "admin"),
        )
        assert r.status_code == 422 and r.json()["detail"] == "request validation failed", (body, r.text)
    r = client.post("/v1/outcomes", json={"decision_id": decision_id, "defaulted": True}, headers=h(keys, "admin"))
    assert r.status_code == 422 and r.json()["detail"].startswith("missing_field")  # counted, as before


def test_scale_edges_are_null_where_unbounded(client, keys):
    from lendscore.service.schemas import ScaleOut

    scale = client.get("/v1/scale", headers=h(keys, "officer")).json()
    ScaleOut.model_validate(scale)
    assert scale["bands"][0]["min"] is None and scale["bands"][-1]["max"] is None
    assert all(b["max"] is not None for b in scale["bands"][:-1])
    assert scale["grades"][0]["score_max"] is None


def test_store_failure_is_503_and_nothing_is_answered(tmp_path, model_path, keys, apps):
    store = InMemoryAuditStore()
    app = create_app(_settings(tmp_path, model_path, keys, "memory://"), store=store)
    with test_client(app) as c:
        store.fail_writes = True
        r = c.post("/v1/decisions", json=apps[0], headers=h(keys, "scorer"))
        assert r.status_code == 503 and "decision_id" not in r.json()
        assert c.get("/readyz").status_code == 503
    assert len(store.decisions_frame()) == 0


def test_clock_is_injected(tmp_path, model_path, keys, apps):
    import datetime as dt

    fixed = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    app = create_app(_settings(tmp_path, model_path, keys, "memory://"), clock=lambda: fixed)
    with test_client(app) as c:
        r = c.post("/v1/decisions", json=apps[0], headers=h(keys, "scorer"))
        assert r.json()["created_at"] == fixed.isoformat()
        frame = app.state.service.store.decisions_frame(since=fixed, until=fixed + dt.timedelta(seconds=1))
        assert len(frame) == 1
        assert len(app.state.service.store.decisions_frame(since=fixed + dt.timedelta(seconds=1))) == 0


def test_batch_path_gives_the_single_path_decisions(client, keys, apps):
    """The vectorised batch (one ``score_details`` call) decides exactly as the single path."""
    singles = [client.post("/v1/decisions", json=a, headers=h(keys, "scorer")).json() for a in apps[:30]]
    batch = client.post("/v1/decisions/batch", json={"applications": apps[:30]}, headers=h(keys, "scorer")).json()
    for one, many in zip(singles, batch["decisions"], strict=True):
        drop = ("decision_id", "request_id", "created_at", "pd")
        assert {k: v for k, v in one.items() if k not in drop} == {k: v for k, v in many.items() if k not in drop}
        assert many["pd"] == pytest.approx(one["pd"], rel=1e-12)  # numpy.exp against math.exp: last bit at most


def test_finite_check_sees_a_non_finite_number_in_every_numeric_field(client, apps):
    import copy
    import math

    from lendscore.service.decisions import _finite, _finite_walk

    eng = client.app_state.engine
    outs = [eng.decide(a["applicant"], a["finances"], a["loan"]) for a in apps[:20]]
    assert all(_finite(o) and _finite_walk(o) for o in outs)
    out = next(o for o in outs if o["reasons"] and o["affordability"])
    paths = [("pd",), ("score",), ("points", next(iter(out["points"])))]
    paths += [("affordability", k) for k, v in out["affordability"].items() if type(v) is float]
    paths += [("affordability", "counter_offer", "max_amount"), ("reasons", 0, "shortfall")]
    for bad in (math.nan, math.inf, -math.inf):
        for path in paths:
            broken = copy.deepcopy(out)
            target = broken
            for p in path[:-1]:
                target = target[p]
            if path[-1] == "shortfall" and "shortfall" not in target:
                continue
            target[path[-1]] = bad
            assert not _finite(broken) and not _finite_walk(broken), path


def test_a_policy_refusal_in_a_batch_names_its_application(client, keys, apps, monkeypatch):
    """A policy refusal while deciding a batch by column decides it again row by row and names the
    first refused application (field ``applications.<i>``, rule ``policy``); nothing is stored."""
    from lendscore.errors import PolicyError

    eng = client.app_state.engine
    decide_one = eng.decide_scored_application
    calls = []

    def by_column(*args, **kwargs):
        raise PolicyError("refused by column")

    def by_row(scored, app):
        calls.append(app)
        if len(calls) == 3:
            raise PolicyError("the third application breaks a rule")
        return decide_one(scored, app)

    monkeypatch.setattr(eng, "decide_scored_applications", by_column)
    monkeypatch.setattr(eng, "decide_scored_application", by_row)
    r = client.post("/v1/decisions/batch", json={"applications": apps[:5]}, headers=h(keys, "scorer"))
    assert r.status_code == 422, r.text
    assert r.json()["errors"] == [
        {"field": "applications.2", "rule": "policy", "message": "the third application breaks a rule"}
    ]
    assert len(client.app_state.store.decisions_frame()) == 0


def test_one_model_version_for_the_service_the_cli_and_the_registry(client, keys, apps, model_path, capsys):
    """``model_version_of`` versions the model the service serves from a file, the one ``lendscore
    decide`` decides with, and a registry's entry (its registered name)."""
    import json

    import lendscore
    from cli_helpers import run
    from lendscore.engine import model_version_of

    model = lendscore.load(model_path)
    version = model_version_of(model, model_path)
    assert version.startswith("lendscore-demo-model.json#sha256:")
    assert client.get("/v1/models", headers=h(keys, "admin")).json()["model"]["version"] == version
    assert client.post("/v1/decisions", json=apps[0], headers=h(keys, "scorer")).json()["model_version"] == version
    one = {**apps[0]["applicant"], "finances": apps[0]["finances"], "loan": apps[0]["loan"]}
    code, text = run(["decide", "--model", str(model_path), "--applicant", json.dumps(one)], capsys)
    assert code == 0, text
    assert json.loads(text)["model_version"] == version
    assert model_version_of(model, model_path, registered="v7") == "v7"


def test_service_modules_import_no_cycle_and_the_short_path_not_the_routes():
    """Import structure of ``lendscore.service``: no cycle (the audit stores share
    ``audit_records``), the decision service imports no FastAPI, and the short path calls the
    decision service, not the route module."""
    import ast
    from pathlib import Path

    import lendscore.service

    root = Path(lendscore.service.__file__).parent
    graph = {}
    for f in root.rglob("*.py"):
        parts = f.relative_to(root).with_suffix("").parts
        name = ".".join(("lendscore", "service", *parts)).removesuffix(".__init__")
        deps = set()
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                deps.add(node.module)
            elif isinstance(node, ast.Import):
                deps.update(a.name for a in node.names)
        graph[name] = deps
    inner = {n: {d for d in ds if d in graph and d not in (n, "lendscore.service")} for n, ds in graph.items()}

    def reaches(start, goal):
        seen, stack = set(), [start]
        while stack:
            x = stack.pop()
            if x == goal:
                return True
            if x not in seen:
                seen.add(x)
                stack.extend(inner[x])
        return False

    cycles = [(a, b) for a in inner for b in inner[a] if reaches(b, a)]
    assert cycles == []
    assert not any(d.split(".")[0] in ("fastapi", "starlette") for d in graph["lendscore.service.decisions"])
    assert not any(d.startswith("lendscore.service.routes") for d in graph["lendscore.service.fastpath"])

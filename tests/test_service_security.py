"""API keys and roles, settings that refuse placeholders, body limits, no stack traces, log hygiene."""

from __future__ import annotations

import json
import logging

import pytest

from lendscore.errors import ConfigError
from lendscore.service import create_app, hash_key, load_settings
from lendscore.service.jsonlog import JsonFormatter
from lendscore.service.security import KeyRing, api_key_of
from lendscore.service.settings import ApiKey
from lendscore.service.testing import (
    sample_applications,
    test_client,
    write_settings,
)


@pytest.fixture(scope="module")
def body():
    return sample_applications(1, seed=5)[0]


@pytest.fixture
def client(tmp_path, model_path, keys):
    settings = load_settings(
        write_settings(
            tmp_path / "s.toml",
            model=model_path,
            audit_url="memory://",
            keys=keys,
            max_body_bytes=4096,
            max_batch_body_bytes=20000,
        ),
        environ={},
    )
    app = create_app(settings)
    with test_client(app, raise_server_exceptions=False) as c:
        c.app_state = app.state.service
        yield c


@pytest.mark.parametrize(
    "method, path, allowed",
    [
        ("POST", "/v1/decisions", {"scorer", "officer", "admin"}),
        ("POST", "/v1/decisions/batch", {"scorer", "officer", "admin"}),
        ("GET", "/v1/decisions", {"officer", "admin"}),
        ("GET", "/v1/decisions/00000000-0000-4000-8000-000000000000", {"officer", "admin"}),
        ("GET", "/v1/scale", {"officer", "admin"}),
        ("POST", "/v1/outcomes", {"admin"}),
        ("GET", "/v1/models", {"admin"}),
        ("GET", "/metrics", {"admin"}),
        ("GET", "/openapi.json", {"scorer", "officer", "admin"}),
    ],
)
def test_roles(client, keys, body, method, path, allowed):
    payload = {
        "/v1/decisions": body,
        "/v1/decisions/batch": {"applications": [body]},
        "/v1/outcomes": {"decision_id": "x", "defaulted": False},
    }.get(path)
    for role in ("scorer", "officer", "admin"):
        r = client.request(method, path, json=payload, headers={"X-API-Key": keys[role]})
        if role in allowed:
            assert r.status_code not in (401, 403), (role, r.status_code)
        else:
            assert r.status_code == 403, (role, r.status_code)
    assert client.request(method, path, json=payload).status_code == 401
    assert client.request(method, path, json=payload, headers={"X-API-Key": keys["admin"] + "x"}).status_code == 401
    bearer = client.request(method, path, json=payload, headers={"Authorization": f"Bearer {keys['admin']}"})
    assert bearer.status_code not in (401, 403)


def test_health_needs_no_key(client):
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200


def test_unauthorised_request_stores_nothing(client, keys, body):
    client.post("/v1/decisions", json=body)
    client.post("/v1/decisions", json=body, headers={"X-API-Key": "wrong"})
    assert len(client.app_state.store.decisions_frame()) == 0


def test_keyring_compares_every_hash():
    keys = [ApiKey(name=f"k{i}", role="scorer", hash=hash_key(f"key-number-{i}-abcdefghijklmnop")) for i in range(3)]
    ring = KeyRing(keys)
    assert ring.identify("key-number-2-abcdefghijklmnop").name == "k2"
    assert ring.identify("key-number-2-abcdefghijklmno") is None
    assert ring.identify("") is None and ring.identify(None) is None


@pytest.mark.parametrize(
    "headers, key",
    [
        ([("X-API-Key", "k1")], "k1"),
        ([("Authorization", "Bearer k2")], "k2"),
        ([("authorization", "bEaReR   k3  ")], "k3"),
        ([("X-API-Key", "k1"), ("Authorization", "Bearer k2")], "k1"),  # X-API-Key first
        ([("X-API-Key", ""), ("Authorization", "Bearer k2")], "k2"),  # an empty key is no key
        ([("Authorization", "Bearer ")], None),
        ([("Authorization", "Basic dXNlcjpwdw==")], None),
        ([("Authorization", "Bearerk2")], None),
        ([("X-API-Key", "k1"), ("X-API-Key", "k9")], "k1"),  # Starlette's headers give the first
        ([], None),
    ],
)
def test_api_key_of_reads_the_key_as_both_paths_do(headers, key):
    """One reading of the key for the FastAPI dependency (Starlette's case-insensitive headers) and
    the short path (a dict of lower-case names, built from the first of each header)."""
    from starlette.datastructures import Headers

    starlette = Headers(raw=[(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers])
    short: dict[str, str] = {}
    for k, v in headers:
        short.setdefault(k.lower(), v)
    assert api_key_of(starlette) == api_key_of(short) == key


@pytest.mark.parametrize(
    "entry, message",
    [
        ({"name": "a", "role": "admin", "hash": hash_key("changeme")}, "placeholder"),
        ({"name": "a", "role": "admin", "hash": "sha256:" + "0" * 64}, "placeholder"),
        ({"name": "a", "role": "admin", "hash": "changeme"}, "sha256:"),
        ({"name": "a", "role": "root", "hash": hash_key("a-real-key-abcdefghijklmnopqrstu")}, "role"),
    ],
)
def test_settings_refuse_placeholders_and_bad_keys(tmp_path, entry, message):
    with pytest.raises(ConfigError, match=message):
        load_settings(environ={}, model_path=tmp_path / "m.json", api_keys=[entry])


def test_settings_need_keys_and_refuse_unknown_keys(tmp_path):
    with pytest.raises(ConfigError, match="api_keys"):
        load_settings(environ={}, model_path=tmp_path / "m.json")
    f = tmp_path / "s.toml"
    f.write_text('model_path = "m.json"\nsecret_sauce = 1\n')
    with pytest.raises(ConfigError, match="secret_sauce"):
        load_settings(f, environ={})


def test_settings_from_environment(tmp_path):
    k = hash_key("abcdefghijklmnopqrstuvwxyz0123")
    s = load_settings(
        environ={
            "LENDSCORE_MODEL_PATH": str(tmp_path / "m.json"),
            "LENDSCORE_API_KEYS": f"lo:scorer:{k}",
            "LENDSCORE_AUDIT_URL": "memory://",
            "LENDSCORE_MAX_BATCH": "10",
        }
    )
    assert s.api_keys[0].role == "scorer" and s.api_keys[0].hash == k and s.max_batch == 10
    with pytest.raises(ConfigError, match="audit_url"):
        load_settings(
            environ={"LENDSCORE_AUDIT_URL": "mysql://x"},
            model_path="m",
            api_keys=[{"name": "a", "role": "admin", "hash": k}],
        )


def test_oversized_bodies_are_413(client, keys, body):
    big = {**body, "applicant_id": "A" * 5000}
    r = client.post("/v1/decisions", json=big, headers={"X-API-Key": keys["scorer"]})
    assert r.status_code == 413 and "Traceback" not in r.text

    def chunks():  # no Content-Length: the limit is enforced while reading
        for _ in range(10):
            yield b" " * 1000

    r = client.post(
        "/v1/decisions", content=chunks(), headers={"X-API-Key": keys["scorer"], "Content-Type": "application/json"}
    )
    assert r.status_code == 413
    batch = client.post("/v1/decisions/batch", json={"applications": [body] * 3}, headers={"X-API-Key": keys["scorer"]})
    assert batch.status_code == 200  # the batch route has its own, larger limit
    assert len(client.app_state.store.decisions_frame()) == 3


def test_unexpected_errors_have_no_stack_trace(client, keys, body, monkeypatch):
    def boom(*a, **k):
        raise RuntimeError("secret internals at /srv/lendscore")

    monkeypatch.setattr(client.app_state.engine, "decide_application", boom)
    r = client.post("/v1/decisions", json=body, headers={"X-API-Key": keys["scorer"]})
    assert r.status_code == 500
    assert r.json()["detail"].startswith("internal error") and r.json()["request_id"]
    assert "Traceback" not in r.text and "secret internals" not in r.text


def test_logs_are_json_without_inputs_or_keys(client, keys, body, caplog):
    caplog.set_level(logging.INFO, logger="lendscore")
    r = client.post("/v1/decisions", json=body, headers={"X-API-Key": keys["scorer"], "X-Request-ID": "trace-123"})
    assert r.status_code == 200 and r.headers["x-request-id"] == "trace-123"
    lines = [JsonFormatter().format(rec) for rec in caplog.records if rec.name.startswith("lendscore")]
    access = [json.loads(x) for x in lines if json.loads(x)["event"] == "request"]
    assert access and access[-1]["decision_id"] == r.json()["decision_id"]
    assert access[-1]["request_id"] == "trace-123" and access[-1]["outcome"] == r.json()["outcome"]
    assert access[-1]["api_key_name"] == "scorer-client" and "latency_ms" in access[-1]
    text = "\n".join(lines)
    assert keys["scorer"] not in text
    for value in (body["applicant"]["emp_length"], str(body["finances"]["gross_income"]), body["applicant_id"]):
        assert f'"{value}"' not in text and f":{value}," not in text


def test_keys_cli(capsys):
    from lendscore.cli import main

    main(["keys", "hash", "abcdefghijklmnopqrstuvwxyz0123"])
    assert capsys.readouterr().out.strip() == hash_key("abcdefghijklmnopqrstuvwxyz0123")
    with pytest.raises(SystemExit):
        main(["keys", "hash", "changeme"])
    main(["keys", "new", "--name", "los", "--role", "scorer"])
    out = capsys.readouterr().out
    key = out.split("key (shown once): ")[1].split()[0]
    assert hash_key(key) in out

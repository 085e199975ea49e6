"""Schema-driven fuzzing of the OpenAPI spec with schemathesis: no request may cause a 500.

Every operation is called in process (ASGI) with an admin key, with bodies, headers, paths and
query strings that schemathesis generates from the schema (valid and invalid ones). Bounded:
at most ``MAX_EXAMPLES`` cases per operation, no deadline.
"""

from __future__ import annotations

import warnings

import pytest

with warnings.catch_warnings():  # third-party import-time notices (not lendscore's)
    warnings.simplefilter("ignore", DeprecationWarning)
    import schemathesis
    from hypothesis import HealthCheck, settings

from lendscore.service import create_app, load_settings
from lendscore.service.schemas import BatchOut, DecisionOut
from lendscore.service.testing import cached_demo_model, demo_keys, test_client, write_settings

MAX_EXAMPLES = 25

KEYS = demo_keys()


def _app(tmp_dir):
    model = cached_demo_model(tmp_dir)
    settings = load_settings(
        write_settings(
            tmp_dir / "fuzz-settings.toml",
            model=model,
            keys=KEYS,
            audit_url=f"sqlite:///{tmp_dir / 'fuzz-audit.db'}",
            max_batch=20,
        ),
        environ={},
    )
    return create_app(settings)


@pytest.fixture(scope="module")
def running_app(tmp_path_factory):
    app = _app(tmp_path_factory.getbasetemp())
    with test_client(app):  # runs the lifespan: the audit store is open while fuzzing
        yield app


def test_fuzz_every_operation_without_server_errors(running_app):
    schema = schemathesis.openapi.from_dict(running_app.openapi())
    schema.app = running_app
    operations = [op.ok() for op in schema.get_all_operations()]
    assert len(operations) >= 9
    failures: list[str] = []
    client = test_client(running_app, raise_server_exceptions=False)
    for op in operations:
        _fuzz_operation(op, client, failures)
    assert not failures, failures[:5]


def _fuzz_operation(op, client, failures: list[str]) -> None:
    from hypothesis import given

    strategy = op.as_strategy()
    if True:

        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        def run(case):
            kwargs = case.as_transport_kwargs(base_url="http://testserver")
            headers = {**(kwargs.get("headers") or {}), "X-API-Key": KEYS["admin"]}
            r = client.request(
                kwargs["method"],
                kwargs["url"],
                headers=headers,
                params=kwargs.get("params"),
                content=kwargs.get("data") if "json" not in kwargs else None,
                json=kwargs.get("json"),
            )
            if r.status_code >= 500:
                failures.append(f"{op.method.upper()} {op.path}: {r.status_code} {r.text[:200]}")
            assert "Traceback" not in r.text
            if r.status_code == 200 and op.path == "/v1/decisions" and op.method == "post":
                DecisionOut.model_validate(r.json())
            if r.status_code == 200 and op.path == "/v1/decisions/batch":
                BatchOut.model_validate(r.json())

        given(strategy)(run)()

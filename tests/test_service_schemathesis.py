"""Schemathesis, the command line tool, against ``lendscore serve``: the OpenAPI document tells the truth.

The server runs as in production (``lendscore serve`` on the demo model, an SQLite audit store) and
``schemathesis run`` tests it through its own ``/openapi.json`` with every check (``--checks all``:
undocumented statuses, content types and headers, response bodies against their schemas,
schema-valid requests refused, schema-invalid requests accepted, ``Allow`` of a 405, ...) in every
phase (examples, coverage, fuzzing and the stateful phase following the links between operations),
with a fixed seed and no example database, so a run is repeatable; it must find nothing.

The rules between fields that JSON Schema cannot state are in the document's descriptions
(``earliest_cr_line`` not after the application date, ``net_income`` and ``deductions`` not above
``gross_income``, an NTH share ``nth / monthly_income`` that must not overflow, an outcome not dated
before its decision). Schemathesis reads no descriptions, so
this module is also its hook file (``SCHEMATHESIS_HOOKS``): :func:`before_call` makes a schema-valid
request keep those rules before it is sent, and every other rule stays the schema's alone (a bound,
a format or a required field the schema missed would still fail the run).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

SEED = 322685477707590724571689030302581191974
MAX_EXAMPLES = 40
"""Test cases per operation and phase (the run takes about 15 s on the 2-core CI machine)."""
TIMEOUT = 110

EARLIEST_CREDIT_LINE, APPLICATION_DATE = "earliest_cr_line", "issue_d"
MONTHLY_INCOME, ANNUAL_INCOME = "monthly_income", "annual_inc"
"""The demo model's fields bound by rules between fields (checked against the document's rules below)."""
INCOME_FLOOR = 1e-290
"""A positive income below it may overflow the NTH share (the rule's "below about 1e-296")."""
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


# ------------------------------------------------------------------ the hook (schemathesis' process)
def _date(value: Any) -> dt.date | None:
    """An ISO date (``YYYY-MM-DD``, as ``format: date`` has it), else None."""
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _keep_application_rules(application: Any, today: dt.date) -> None:
    if not isinstance(application, dict):
        return
    finances = application.get("finances")
    if isinstance(finances, dict) and _number(finances.get("gross_income")):
        if 0 < finances["gross_income"] < INCOME_FLOOR:
            finances["gross_income"] = INCOME_FLOOR
        gross = finances["gross_income"]
        for name in ("net_income", "deductions"):
            if _number(finances.get(name)) and finances[name] > gross:
                finances[name] = gross
    applicant = application.get("applicant")
    if isinstance(applicant, dict):
        for name in (MONTHLY_INCOME, ANNUAL_INCOME):
            if _number(applicant.get(name)) and 0 < applicant[name] < INCOME_FLOOR:
                applicant[name] = INCOME_FLOOR
        first = _date(applicant.get(EARLIEST_CREDIT_LINE))
        dated = applicant.get(APPLICATION_DATE)
        limit = today if dated is None else _date(dated)  # undated: the decision's day
        if first is not None and limit is not None and first > limit:
            applicant[EARLIEST_CREDIT_LINE] = limit.isoformat()


def keep_cross_field_rules(method: str, path: str, body: Any, today: dt.date) -> Any:
    """``body`` of a schema-valid request to ``method path`` changed in place to keep the rules between
    fields that the OpenAPI document states in descriptions only (``today``: the UTC day)."""
    if method == "POST" and path == "/v1/decisions":
        _keep_application_rules(body, today)
    elif method == "POST" and path == "/v1/decisions/batch" and isinstance(body, dict):
        for application in body.get("applications") or ():
            _keep_application_rules(application, today)
    elif method == "POST" and path == "/v1/outcomes" and isinstance(body, dict):
        when = _date(body.get("outcome_date"))
        if when is not None and when < today:  # every decision of the run is made today
            body["outcome_date"] = today.isoformat()
    return body


def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """Schemathesis hook: a positive (schema-valid) case keeps the rules between fields."""
    meta = case.meta
    if meta is not None and not meta.generation.mode.is_positive:
        return
    if isinstance(case.body, dict):
        keep_cross_field_rules(case.method.upper(), case.path, case.body, dt.datetime.now(dt.UTC).date())


if __name__ == "_schemathesis_hooks":  # loaded by schemathesis from SCHEMATHESIS_HOOKS, not by pytest
    import schemathesis

    schemathesis.hook(before_call)


# ------------------------------------------------------------------ the tests (pytest's process)
def _summary(text: str) -> str:
    """The run's result, from the failures on (or its last lines)."""
    start = text.find("= FAILURES =")
    return text[start - 40 :] if start >= 0 else text[-6000:]


@pytest.mark.slow
def test_schemathesis_finds_nothing_against_the_served_openapi_document(tmp_path, tmp_path_factory):
    from lendscore.service.testing import ServerProcess, cached_demo_model, demo_keys, write_settings

    keys = demo_keys()
    settings = write_settings(
        tmp_path / "settings.toml",
        model=cached_demo_model(tmp_path_factory.getbasetemp()),
        audit_url=f"sqlite:///{tmp_path / 'audit.db'}",
        keys=keys,
        max_batch=20,
    )
    server = ServerProcess(settings, tmp_path / "server.log").start()
    try:
        t0 = time.monotonic()
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "schemathesis.cli",
                "--no-color",
                "run",
                f"{server.base_url}/openapi.json",
                "--checks",
                "all",
                "--phases",
                "examples,coverage,fuzzing,stateful",
                "--header",
                f"X-API-Key: {keys['admin']}",
                "--max-examples",
                str(MAX_EXAMPLES),
                "--seed",
                str(SEED),
                "--generation-database",
                "none",
            ],
            capture_output=True,
            text=True,
            cwd=tmp_path,  # schemathesis writes its replay files under the working directory
            env={**os.environ, "SCHEMATHESIS_HOOKS": str(Path(__file__).resolve())},
            timeout=TIMEOUT,
        )
        elapsed = time.monotonic() - t0
    finally:
        server.stop()
    out = run.stdout + run.stderr
    assert run.returncode == 0, f"schemathesis exit {run.returncode} after {elapsed:.0f}s:\n{_summary(out)}"
    assert "13 selected / 13 total" in out, out[-3000:]
    for phase in ("Coverage", "Fuzzing", "Stateful"):
        assert re.search(rf"✅\s+{phase}", out), f"{phase} phase did not pass:\n{out[-3000:]}"
    assert "Traceback" not in Path(tmp_path / "server.log").read_text()


def test_the_hook_knows_the_demo_models_rules_between_fields(tmp_path_factory):
    """The hook keeps every rule between applicant fields the demo model's OpenAPI document describes
    (a new one fails here until the hook keeps it too): the credit-age derivation's first credit line
    not after the application date, and the NTH share's income."""
    import lendscore
    from lendscore.data.derivation import CreditAgeMonths
    from lendscore.service.schemas import SMALLEST_DIVISOR, _cross_field_rules
    from lendscore.service.testing import cached_demo_model

    spec = lendscore.load(cached_demo_model(tmp_path_factory.getbasetemp())).inputs_
    assert [bound for bound, _ in _cross_field_rules(spec)] == [
        (EARLIEST_CREDIT_LINE,),
        (MONTHLY_INCOME, ANNUAL_INCOME),
    ]
    ages = [op for op in spec.derivation.operations if isinstance(op, CreditAgeMonths)]
    assert [op.application_date for op in ages] == [APPLICATION_DATE]
    assert INCOME_FLOOR / 12 > 1e4 * SMALLEST_DIVISOR


def test_keep_cross_field_rules_changes_only_what_breaks_a_rule():
    today = dt.date(2026, 3, 1)
    body = {
        "applicant": {"earliest_cr_line": "2030-01-01", "issue_d": "2020-05-01", "monthly_income": 5e-324},
        "finances": {"gross_income": 100.0, "net_income": 150.0, "deductions": 20.0},
    }
    keep_cross_field_rules("POST", "/v1/decisions", body, today)
    assert body == {
        "applicant": {"earliest_cr_line": "2020-05-01", "issue_d": "2020-05-01", "monthly_income": INCOME_FLOOR},
        "finances": {"gross_income": 100.0, "net_income": 100.0, "deductions": 20.0},
    }
    tiny = {"applicant": {"annual_inc": 0.0}, "finances": {"gross_income": 1e-300, "net_income": 1e-301}}
    keep_cross_field_rules("POST", "/v1/decisions", tiny, today)
    assert tiny == {"applicant": {"annual_inc": 0.0}, "finances": {"gross_income": INCOME_FLOOR, "net_income": 1e-301}}
    undated = {"applications": [{"applicant": {"earliest_cr_line": "2027-01-01"}}, {"applicant": {}}]}
    keep_cross_field_rules("POST", "/v1/decisions/batch", undated, today)
    assert undated["applications"][0]["applicant"]["earliest_cr_line"] == "2026-03-01"
    invalid = {"applicant": {"earliest_cr_line": "2030-01-01", "issue_d": "not a date"}, "finances": "x"}
    assert keep_cross_field_rules("POST", "/v1/decisions", dict(invalid), today) == invalid
    outcome = {"decision_id": "d", "defaulted": True, "outcome_date": "2000-01-01"}
    assert keep_cross_field_rules("POST", "/v1/outcomes", outcome, today)["outcome_date"] == "2026-03-01"
    later = {"decision_id": "d", "defaulted": True, "outcome_date": "2027-01-01"}
    assert keep_cross_field_rules("POST", "/v1/outcomes", later, today)["outcome_date"] == "2027-01-01"

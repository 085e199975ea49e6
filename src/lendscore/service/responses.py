"""The service's answers, written once for the FastAPI app and the short path.

- :func:`error_response`: ``{"detail", "request_id"}`` with a status (``HTTPException`` and the
  audit store's errors);
- :func:`refused_response`: the 422 ``{"detail": "request validation failed", "errors": [{"field",
  "rule", "message"}], "request_id"}`` of a request validation error and of a
  :class:`~lendscore.service.decisions.DecisionRefused`;
- :func:`service_error_response`: the answer to an exception of the decision service (its status
  from :data:`AUDIT_STATUS` for the audit store's errors);
- :func:`decision_response`, :func:`batch_response`, :func:`stored_response`: a decision's stored
  JSON sent as is (validated against ``DecisionOut`` by the tests, not per request), with
  ``Idempotent-Replayed: true`` on a replay; the first two also put the decision's ids in the
  request's access-log line.
"""

from __future__ import annotations

from collections.abc import MutableMapping, Sequence
from typing import Any

from starlette.responses import JSONResponse, Response

from lendscore.service._json import dumps
from lendscore.service.audit_records import AuditConflict, AuditError, AuditNotFound, DecisionRecord
from lendscore.service.decisions import DecisionRefused

__all__ = [
    "AUDIT_STATUS",
    "batch_response",
    "decision_response",
    "error_response",
    "refused_response",
    "service_error_response",
    "stored_response",
]

AUDIT_STATUS: tuple[tuple[type[AuditError], int], ...] = ((AuditConflict, 409), (AuditNotFound, 404), (AuditError, 503))
"""The HTTP status of an audit store's error (first match): a conflict 409, an unknown decision 404,
anything else (the store could not commit) 503."""

_REPLAYED = {"Idempotent-Replayed": "true"}


def error_response(
    status_code: int, detail: Any, headers: dict[str, str] | None, request_id: str | None
) -> JSONResponse:
    """The app's answer to an ``HTTPException`` (its handler and the short path share it)."""
    return JSONResponse({"detail": detail, "request_id": request_id}, status_code=status_code, headers=headers)


def refused_response(errors: list[dict[str, str]], request_id: str | None) -> JSONResponse:
    """A 422 listing ``errors`` (``field``: the dotted path in the request body, ``rule``, ``message``)."""
    return JSONResponse(
        {"detail": "request validation failed", "errors": errors, "request_id": request_id}, status_code=422
    )


def service_error_response(exc: Exception, request_id: str | None) -> JSONResponse:
    """The answer to a :class:`DecisionRefused` or an audit store's error (any other exception is
    not the service's to answer: ``TypeError``)."""
    if isinstance(exc, DecisionRefused):
        return refused_response(exc.errors(), request_id)
    for kind, status in AUDIT_STATUS:
        if isinstance(exc, kind):
            return error_response(status, str(exc), None, request_id)
    raise TypeError(f"not an error of the decision service: {type(exc).__name__}")


def _json_of(r: DecisionRecord) -> str:
    return r.result_json if r.result_json is not None else dumps(r.result)


def _json(text: str, replayed: bool) -> Response:
    return Response(text, media_type="application/json", headers=_REPLAYED if replayed else None)


def _log(scope: MutableMapping[str, Any]) -> dict[str, Any]:
    """The fields the access log line adds for this request (never inputs or keys)."""
    return scope.setdefault("lendscore.log", {})


def decision_response(scope: MutableMapping[str, Any], record: DecisionRecord) -> Response:
    """The 200 answer to POST /v1/decisions: the decision as stored."""
    _log(scope).update(
        decision_id=record.decision_id,
        outcome=record.outcome,
        model_version=record.model_version,
        replayed=record.replayed,
    )
    return _json(_json_of(record), record.replayed)


def batch_response(scope: MutableMapping[str, Any], records: Sequence[DecisionRecord]) -> Response:
    """The 200 answer to POST /v1/decisions/batch: ``{"batch_id", "decisions": [...]}`` as stored."""
    first = records[0]
    _log(scope).update(
        batch_id=first.batch_id, n_decisions=len(records), model_version=first.model_version, replayed=first.replayed
    )
    body = '{"batch_id":' + dumps(first.batch_id) + ',"decisions":[' + ",".join(_json_of(r) for r in records) + "]}"
    return _json(body, first.replayed)


def stored_response(record: DecisionRecord) -> Response:
    """A stored decision (GET /v1/decisions/{id})."""
    return _json(_json_of(record), False)

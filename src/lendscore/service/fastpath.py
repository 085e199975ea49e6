"""POST /v1/decisions on a short path: the answerable request without FastAPI's per-request machinery.

Why by hand: on a 2-core machine a single decision costs the server about 0.9 ms of CPU, and
FastAPI's routing, dependency solving and exception middleware are about a third of it; that
third decides whether the service holds a 10 ms p99 at 1,000 decisions a second. The short path
runs the route's own steps with the route's own functions (:mod:`lendscore.service.routes.decisions`):
API key and role, JSON, validation against the same request model, decision, audit commit, reply.

It answers only a request it can take from start to finish the way the route would. Anything else
-- no key, a key refused or without the scorer role, a content type that is not JSON, a body that
does not parse or validate, an ``Idempotency-Key`` that breaks its rule, a header given twice, a raw
value the model's derivation refuses (found while deciding, before anything is stored or sent) --
is handed, untouched, to the FastAPI route, so every refusal comes from one place. Errors raised after
validation (a policy refusal, the audit store, an idempotency conflict) are rendered exactly as the
app's exception handler renders them, and an unexpected one propagates to the app's outermost
handler as it would from the route. A test sends the same requests through both paths and
compares statuses, headers, bodies and the audit rows.
"""
from __future__ import annotations

import email.message
import re
from typing import Any

import pydantic
from fastapi import HTTPException
from fastapi.responses import JSONResponse

from lendscore.service._json import loads
from lendscore.service.routes.decisions import InputRefused, answer_decision

__all__ = ["DecisionFastPath", "error_response"]

PATH = "/v1/decisions"
_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,128}")  # the route's Header rule
_WANTED = (b"x-api-key", b"authorization", b"content-type", b"idempotency-key")


def error_response(status_code: int, detail: Any, headers: dict[str, str] | None,
                   request_id: str | None) -> JSONResponse:
    """The app's answer to an ``HTTPException`` (the route's handler and the short path share it)."""
    return JSONResponse({"detail": detail, "request_id": request_id}, status_code=status_code, headers=headers)


async def _no_receive() -> dict:  # a plain Response never reads the request
    return {"type": "http.disconnect"}


def _is_json(content_type: str | None, strict: bool) -> bool:
    """Whether FastAPI parses the body as JSON: ``application/json`` or ``application/*+json`` (read
    as FastAPI reads it, with :mod:`email.message`), or no content type on a non-strict route."""
    if not content_type:
        return not strict
    message = email.message.Message()
    message["content-type"] = content_type
    if message.get_content_maintype() != "application":
        return False
    subtype = message.get_content_subtype()
    return subtype == "json" or subtype.endswith("+json")


class DecisionFastPath:
    """The short path for POST /v1/decisions of one app (``state``: its ServiceState; ``route``:
    its APIRoute for the path, whose template labels the request in the metrics)."""

    path = PATH

    def __init__(self, state: Any, route: Any):
        self.state = state
        self.route = route
        self.model = state.schemas.decision_in
        strict = getattr(route, "strict_content_type", False)  # newer FastAPI; older ones were never strict
        self.strict_content_type = bool(getattr(strict, "value", strict))

    async def handle(self, scope: dict, body: bytes, send) -> bool:
        """Answer the request and return True, or return False having sent nothing."""
        found: dict[bytes, str] = {}
        for name, value in scope["headers"]:
            if name in _WANTED:
                if name in found:
                    return False
                found[name] = value.decode("latin-1")
        key = found.get(b"x-api-key")
        if not key:
            auth = found.get(b"authorization", "")
            if auth[:7].lower() == "bearer ":
                key = auth[7:].strip()
        principal = self.state.keys.identify(key) if key else None
        if principal is None or not principal.allows("scorer"):
            return False
        if not body or not _is_json(found.get(b"content-type"), self.strict_content_type):
            return False
        idem = found.get(b"idempotency-key")
        if idem is not None and not _IDEMPOTENCY_KEY.fullmatch(idem):
            return False
        try:
            item = self.model.model_validate(loads(body))
        except (ValueError, pydantic.ValidationError):  # JSON or validation: the route says what is wrong
            return False
        scope["route"] = self.route
        scope.setdefault("lendscore.log", {})["api_key_name"] = principal.name
        try:
            response = await answer_decision(self.state, item, scope, principal, idem)
        except InputRefused:  # a value the derivation refuses: the route says what is wrong (nothing sent yet)
            return False
        except HTTPException as exc:
            response = error_response(exc.status_code, exc.detail, getattr(exc, "headers", None),
                                      scope["lendscore.request_id"])
        # any other exception propagates, as from the route, to the app's outermost handler (a 500)
        await response(scope, _no_receive, send)
        return True

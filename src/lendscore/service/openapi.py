"""What the OpenAPI document says an operation answers: every status it can return, with its body.

Each route lists its statuses with :func:`errors`; the body of each is the one the app's handlers
write (:mod:`lendscore.service.responses`):

- 400 ``ErrorOut``: a JSON body that cannot even be decoded (not UTF-8);
- 401 ``ErrorOut`` with ``WWW-Authenticate: ApiKey``: no key, or not a valid one;
- 403 ``ErrorOut``: the key's role may not (only where the route needs more than a scorer);
- 404, 409, 503 ``ErrorOut``: what the route says they mean;
- 413 ``ErrorOut``: a body over the limit (the middleware, on every route taking a body);
- 422 ``ValidationErrorOut`` (``{"detail", "errors": [{"field", "rule", "message"}], "request_id"}``):
  a request the request model or, while deciding, the derivation or the policy refuses (FastAPI's
  default ``HTTPValidationError`` is never sent).

:func:`install` adds to every documented response the ``X-Request-ID`` header the middleware puts on
every answer, and documents every error body as JSON (FastAPI gives an error model the media type of
the route's own answers: ``text/html`` for the monitoring page, whose 401 is JSON like every error). :func:`allowed_methods` is the ``Allow`` header of a 405: every method a route on the
path takes (Starlette's own names the methods of the first route on the path only: ``POST`` for
``/v1/decisions``, which takes GET too).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI
from starlette.routing import BaseRoute, Match

from lendscore.service.schemas import ErrorOut, ValidationErrorOut

__all__ = ["REQUEST_ID", "allowed_methods", "errors", "install"]

_WHAT: dict[int, str] = {
    400: "The body could not be decoded as JSON text (e.g. not UTF-8)",
    401: "No API key, or a key that is not valid",
    403: "The key's role may not do this",
    404: "Not found",
    409: "Conflict",
    413: "The request body is larger than the limit",
    422: "The request breaks a rule: every field in error, with the rule it breaks",
    503: "The audit store is unavailable",
}
_STRING = {"type": "string"}
REQUEST_ID: dict[str, Any] = {
    "description": "the request's id (the caller's X-Request-ID when valid, else a new one); it is in the "
    "access log line and in every error body",
    "schema": _STRING,
}
_HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": {"description": "ApiKey", "schema": _STRING}},
}


def errors(
    *codes: int, why: Mapping[int, str] | None = None, body_422: Any = ValidationErrorOut
) -> dict[int | str, Any]:
    """The ``responses`` of a route for ``codes``: the body model of each and a description (``why``
    replaces the general one); ``body_422`` is the 422 model when a route answers 422 in more than
    one shape."""
    out: dict[int | str, Any] = {}
    for code in codes:
        entry: dict[str, Any] = {
            "model": body_422 if code == 422 else ErrorOut,
            "description": (why or {}).get(code, _WHAT[code]),
        }
        if code in _HEADERS:
            entry["headers"] = _HEADERS[code]
        out[code] = entry
    return out


def install(app: FastAPI) -> None:
    """``app.openapi``: FastAPI's document, with the ``X-Request-ID`` header on every response and
    every error body (4xx, 5xx) as ``application/json``."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        schema = build()  # FastAPI's, built once (again only if routes are added)
        for item in schema.get("paths", {}).values():
            for operation in item.values():
                for status, response in operation.get("responses", {}).items():
                    response.setdefault("headers", {})["X-Request-ID"] = REQUEST_ID
                    content = response.get("content")
                    if str(status)[0] in "45" and content and "application/json" not in content:
                        response["content"] = {"application/json": next(iter(content.values()))}
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(routes: list[BaseRoute], scope: Mapping[str, Any]) -> str | None:
    """The ``Allow`` header for the path of ``scope``: each method a route on the path takes (asked of
    the app's routes, included routers too, through their public ``matches``); None when none does."""
    path = {"type": "http", "path": scope["path"], "root_path": scope.get("root_path", "")}
    allowed = [m for m in _METHODS if any(route.matches({**path, "method": m})[0] is Match.FULL for route in routes)]
    return ", ".join(allowed) or None

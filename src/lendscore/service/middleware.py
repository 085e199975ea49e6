"""Pure ASGI middleware: request id, body size limit (413), access log and metrics."""

from __future__ import annotations

import json
import logging
import re
import time
from typing import Any

from lendscore.service.audit_records import new_id
from lendscore.service.metrics import Metrics

__all__ = ["ServiceMiddleware"]

log = logging.getLogger("lendscore.service.access")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


async def _send_json(send, status: int, body: dict[str, Any], request_id: str) -> None:
    data = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode()),
                (b"x-request-id", request_id.encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})


class ServiceMiddleware:
    """Gives every request an id, refuses bodies over the limit and logs one JSON line per request."""

    def __init__(
        self,
        app,
        *,
        metrics: Metrics,
        max_body: int,
        max_batch_body: int,
        batch_paths: tuple[str, ...],
        fast: Any = None,
    ):
        self.app = app
        self.fast = fast  # a DecisionFastPath (or None): tried first for POST on its path
        self.metrics = metrics
        self.max_body = max_body
        self.max_batch_body = max_batch_body
        self.batch_paths = frozenset(batch_paths)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        rid = None
        for k, v in scope["headers"]:
            if k == b"x-request-id":
                rid = v.decode("latin-1")
                break
        if rid is None or not _REQUEST_ID.match(rid):
            rid = new_id().replace("-", "")
        scope["lendscore.request_id"] = rid
        fields: dict[str, Any] = scope.setdefault("lendscore.log", {})
        status_box = [500]
        limit = self.max_batch_body if scope["path"] in self.batch_paths else self.max_body

        async def send_wrapper(message):
            if message["type"] == "http.response.start":
                status_box[0] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + [(b"x-request-id", rid.encode())]
            await send(message)

        try:
            buffered = await self._buffer(scope, receive, limit)
            if buffered is None:
                status_box[0] = 413
                await _send_json(
                    send, 413, {"detail": f"request body larger than {limit} bytes", "request_id": rid}, rid
                )
                return
            body, body_receive = buffered
            fast = self.fast
            if (
                fast is not None
                and scope["method"] == "POST"
                and scope["path"] == fast.path
                and await fast.handle(scope, body, send_wrapper)
            ):
                return
            await self.app(scope, body_receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - t0
            route = scope.get("route")
            # the template without convertors (/v1/decisions/{decision_id}, not {decision_id:decision_id})
            template = (
                getattr(route, "path_format", None)
                or getattr(route, "path", None)
                or ("(static)" if scope["path"].startswith("/static") else "(unmatched)")
            )
            self.metrics.observe_request(scope["method"], template, status_box[0], elapsed)
            if log.isEnabledFor(logging.INFO):  # the record's fields are not even built below INFO
                log.info(
                    "request",
                    extra={
                        "request_id": rid,
                        "method": scope["method"],
                        "route": template,
                        "status": status_box[0],
                        "latency_ms": round(elapsed * 1000, 3),
                        **fields,
                    },
                )

    @staticmethod
    async def _buffer(scope, receive, limit: int):
        """Read the whole body (refusing it past ``limit``: None) and return it with a receive that
        replays it."""
        for k, v in scope["headers"]:
            if k == b"content-length":
                try:
                    if int(v) > limit:
                        return None
                except ValueError:
                    return None
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break  # disconnect: let the app see it
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        sent = False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return body, replay

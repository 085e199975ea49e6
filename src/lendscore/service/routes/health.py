"""/healthz (liveness), /readyz (model loaded and audit store reachable), /metrics (admin)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from lendscore.service.deps import Admin, State
from lendscore.service.metrics import CONTENT_TYPE
from lendscore.service.openapi import errors
from lendscore.service.schemas import HealthOut, ReadyOut

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthOut)
def healthz() -> dict:
    """The process is up (no key needed)."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    response_model=ReadyOut,
    responses={503: {"model": ReadyOut, "description": "Not ready: the audit store does not answer"}},
)
def readyz(state: State) -> JSONResponse:
    """Ready when the model is loaded and the audit store answers (no key needed)."""
    store_ok = bool(state.started and state.store.ping())
    body = {"status": "ready" if store_ok else "not ready", "checks": {"model": True, "audit_store": store_ok}}
    return JSONResponse(body, status_code=200 if store_ok else 503)


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}, **errors(401, 403)},
)
def metrics(state: State, _: Admin) -> Response:
    """Prometheus text format (admin key; Prometheus sends it as a bearer token)."""
    return Response(state.metrics.render(), media_type=CONTENT_TYPE)

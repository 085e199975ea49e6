"""Dependencies shared by the routes: the service state and the caller's role (dependency aliases)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.security import APIKeyHeader

from lendscore.engine import DecisionEngine
from lendscore.service.audit import AuditStore
from lendscore.service.decisions import DecisionService
from lendscore.service.metrics import Metrics
from lendscore.service.schemas import RequestSchemas
from lendscore.service.security import KeyRing, Principal, api_key_of
from lendscore.service.settings import Role, Settings

__all__ = ["Admin", "AnyRole", "Officer", "Scorer", "ServiceState", "State", "get_state", "require"]


@dataclass
class ServiceState:
    """Everything built once by ``create_app``: settings, engine, schemas, store, keys, metrics,
    clock, and the decision service over the engine, store, clock and metrics."""

    settings: Settings
    engine: DecisionEngine
    schemas: RequestSchemas
    store: AuditStore
    keys: KeyRing
    metrics: Metrics
    clock: Callable[[], dt.datetime]
    decisions: DecisionService
    monitoring: Any = None
    """The admins' monitoring page (:class:`lendscore.service.monitor.MonitoringPage`)."""
    started: bool = False


async def get_state(request: Request) -> ServiceState:
    return request.app.state.service


State = Annotated[ServiceState, Depends(get_state)]

_api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="API key; `Authorization: Bearer <key>` is accepted too"
)


def require(role: Role) -> Callable[..., Awaitable[Principal]]:
    """A dependency that admits callers whose key (:func:`~lendscore.service.security.api_key_of`)
    has ``role`` or a higher one."""

    # ``_documented`` only declares the key header in the OpenAPI schema; the key is read by api_key_of
    async def dependency(
        request: Request, _documented: Annotated[str | None, Security(_api_key_header)] = None
    ) -> Principal:
        key = api_key_of(request.headers)
        if not key:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "an API key is required (X-API-Key header)",
                headers={"WWW-Authenticate": "ApiKey"},
            )
        principal = request.app.state.service.keys.identify(key)
        if principal is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED, "the API key is not valid", headers={"WWW-Authenticate": "ApiKey"}
            )
        if not principal.allows(role):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, f"role {principal.role!r} may not do this; it needs {role!r}"
            )
        _log_fields(request)["api_key_name"] = principal.name
        return principal

    dependency.__name__ = f"require_{role}"
    return dependency


# async dependencies run on the event loop; sync ones would each cost a thread-pool hop


def _log_fields(request: Request) -> dict[str, Any]:
    """Fields the access log line adds for this request (never raw inputs or keys)."""
    return request.scope.setdefault("lendscore.log", {})


def log_fields(request: Request) -> dict[str, Any]:
    return _log_fields(request)


Scorer = Annotated[Principal, Depends(require("scorer"))]
Officer = Annotated[Principal, Depends(require("officer"))]
Admin = Annotated[Principal, Depends(require("admin"))]
AnyRole = Scorer

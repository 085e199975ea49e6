"""``create_app(settings)``: the FastAPI service. Everything is built here, nothing at import.

The model, policy and reason catalogue are loaded once; the request schemas are built from the
model file's ``inputs`` section (its fields, value rules and derivation); the audit store is opened (and migrated) when the app starts (lifespan) and
closed when it stops.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import inspect
import logging
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from lendscore._version import __version__
from lendscore.decision import load_catalogue, load_policy
from lendscore.engine import DecisionEngine, load_from_registry, load_model_versioned
from lendscore.errors import ConfigError
from lendscore.service.audit import AuditStore, open_store, utcnow
from lendscore.service.audit_records import AuditError
from lendscore.service.decisions import DecisionRefused, DecisionService
from lendscore.service.deps import ServiceState, require
from lendscore.service.fastpath import DecisionFastPath
from lendscore.service.metrics import Metrics
from lendscore.service.middleware import ServiceMiddleware
from lendscore.service.monitor import MonitoringPage
from lendscore.service.openapi import allowed_methods
from lendscore.service.openapi import install as install_openapi
from lendscore.service.responses import error_response, refused_response, service_error_response
from lendscore.service.routes import decisions, health, models, monitoring, outcomes, web
from lendscore.service.schemas import build_request_schemas
from lendscore.service.security import KeyRing
from lendscore.service.settings import Settings

if TYPE_CHECKING:
    from fastapi.telemetry import TelemetryConfig

__all__ = ["create_app"]

log = logging.getLogger("lendscore.service")
BATCH_PATHS = ("/v1/decisions/batch", "/v1/outcomes/batch")


class _TelemetryOption(TypedDict, total=False):
    """``FastAPI(telemetry=...)`` where this FastAPI has the parameter (older ones have not)."""

    telemetry: TelemetryConfig


# FastAPI >= 0.16x traces requests with OpenTelemetry when a provider is configured, checking the
# global providers on every request and logging validation failures *with the input values*.
# The service keeps its own logs and metrics without personal data, so that is switched off.
_NO_TELEMETRY: _TelemetryOption = (
    {"telemetry": {"tracing": False, "metrics": False, "logs": False, "operation_spans": False}}
    if "telemetry" in inspect.signature(FastAPI).parameters
    else {}
)


def _request_id(request: Request) -> str | None:
    return request.scope.get("lendscore.request_id")


def _field_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        if loc and loc[0] == "body":
            loc = loc[1:]
        out.append(
            {
                "field": ".".join(loc) or "(body)",
                "rule": str(err.get("type", "invalid")),
                "message": str(err.get("msg", "")).removeprefix("Value error, "),
            }
        )
    return out


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return refused_response(_field_errors(exc), _request_id(request))

    @app.exception_handler(DecisionRefused)  # the decision service's refusals and the audit store's errors
    @app.exception_handler(AuditError)
    async def _service(request: Request, exc: Exception) -> JSONResponse:
        return service_error_response(exc, _request_id(request))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:  # Starlette's Allow names the methods of the first route on the path only
            allow = allowed_methods(app.router.routes, request.scope)
            if allow is not None:
                headers = {**(headers or {}), "Allow": allow}
        return error_response(exc.status_code, exc.detail, headers, _request_id(request))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error", exc_info=exc, extra={"request_id": _request_id(request)})
        return JSONResponse(
            {"detail": "internal error; quote the request id to support", "request_id": _request_id(request)},
            status_code=500,
        )


def _model_file(settings: Settings) -> Path:
    """The model file served without a registry (the settings require ``model_path`` then)."""
    if settings.model_path is None:
        raise ConfigError("model_path or registry_dir is required (the model to serve)")
    return settings.model_path


def _gauge(obj: object, attr: str) -> Callable[[], float]:
    """A metrics gauge reading ``obj.<attr>`` when the metrics are rendered."""
    return lambda: getattr(obj, attr)


def _monitoring_source(settings: Settings, given_store: AuditStore | None) -> dict[str, str] | None:
    """Where a monitoring worker process reads from: the store's URL and the champion's file.

    None (compute in a thread) for the in-memory store or a store handed in by a test, which
    another process cannot open.
    """
    if given_store is not None or settings.audit_url == "memory://":
        return None
    if settings.registry_dir is not None:
        from lendscore.monitoring import Registry

        path = Registry(settings.registry_dir).champion()[1]
    else:
        path = _model_file(settings)
    return {"audit_url": settings.audit_url, "model_path": str(path)}


def create_app(
    settings: Settings,
    *,
    store: AuditStore | None = None,
    clock: Callable[[], dt.datetime] = utcnow,
    tune_gc: bool = False,
    fast_path: bool = True,
) -> FastAPI:
    """Build the service for ``settings``; ``store`` replaces the one the settings name (tests).

    ``fast_path`` answers POST /v1/decisions through :class:`~lendscore.service.fastpath.DecisionFastPath`
    (the same answers without FastAPI's per-request machinery; False: every request goes through FastAPI).

    ``tune_gc`` (``lendscore serve`` sets it; it changes the whole process) tunes the cyclic garbage
    collector once the app has started: everything built so far (model, app, modules: about 200,000
    objects that live until the process ends) is frozen out of its reach (:func:`gc.freeze`), and
    the youngest generation is collected every 10,000 allocations instead of 700. Otherwise each
    full collection walked them all (60-200 ms on a 2-core machine, stalling the request it fell
    in), and a batch of 1,000 applications, which allocates a few hundred thousand containers, ran
    hundreds of young collections.
    """
    given_store = store
    if settings.registry_dir is not None:
        model, model_version, challenger = load_from_registry(settings.registry_dir)
    else:
        (model, model_version), challenger = load_model_versioned(_model_file(settings)), None
    catalogue = load_catalogue(settings.catalogue_path)
    policy = load_policy(settings.policy_path, catalogue=catalogue)
    engine = DecisionEngine(model, model_version, policy, catalogue, challenger)
    schemas = build_request_schemas(model.inputs_, settings.max_batch)
    if store is None:
        store = open_store(settings.audit_url, sqlite_synchronous=settings.sqlite_synchronous)
    metrics = Metrics(
        {"model_version": model_version, "policy_version": policy.version, "lendscore_version": __version__}
    )
    for attr, name, help_ in (
        ("queue_depth", "lendscore_audit_queue_depth", "Writes waiting for the audit writer."),
        ("commits", "lendscore_audit_commits", "Audit transactions committed."),
        ("rows_committed", "lendscore_audit_rows_committed", "Decision rows committed."),
    ):
        if hasattr(store, attr):
            metrics.gauges[name] = (help_, _gauge(store, attr))
    state = ServiceState(
        settings=settings,
        engine=engine,
        schemas=schemas,
        store=store,
        keys=KeyRing(settings.api_keys),
        metrics=metrics,
        clock=clock,
        decisions=DecisionService(engine, store, clock, metrics, schemas.date_fields),
        monitoring=MonitoringPage(
            engine,
            store,
            clock=clock,
            period=settings.monitoring_period,
            cache_seconds=settings.monitoring_cache_seconds,
            outcome_counts=metrics.outcome_counts,
            source=_monitoring_source(settings, given_store),
        ),
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        store.start()
        if tune_gc:
            gc.collect()
            gc.freeze()
            gc.set_threshold(10_000, *gc.get_threshold()[1:])
        state.started = True
        log.info(
            "service started",
            extra={
                "model_version": model_version,
                "policy_version": policy.version,
                "challenger_version": None if challenger is None else challenger.version,
            },
        )
        try:
            yield
        finally:
            state.started = False
            state.monitoring.close()
            store.close()

    app = FastAPI(
        title="lendscore",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        description="Credit decisions: score, affordability (NTH), policy and reasons, each "
        "decision committed to an audit store before it is answered.",
        **_NO_TELEMETRY,
    )
    app.state.service = state
    app.state.templates = Jinja2Templates(directory=str(resources.files("lendscore.service") / "templates"))
    decisions_router = decisions.make_router(schemas, settings.max_batch)
    app.include_router(decisions_router)
    app.include_router(outcomes.router)
    app.include_router(models.router)
    app.include_router(health.router)
    app.include_router(web.router)
    app.include_router(monitoring.router)

    @app.get("/openapi.json", include_in_schema=False, dependencies=[Depends(require("scorer"))])
    def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    app.mount("/static", StaticFiles(directory=str(resources.files("lendscore.service") / "static")), name="static")
    install_openapi(app)
    _install_error_handlers(app)
    route = next(
        r
        for r in decisions_router.routes
        if isinstance(r, APIRoute) and r.path == DecisionFastPath.path and "POST" in (r.methods or ())
    )
    app.add_middleware(
        ServiceMiddleware,
        metrics=metrics,
        max_body=settings.max_body_bytes,
        max_batch_body=settings.max_batch_body_bytes,
        batch_paths=BATCH_PATHS,
        fast=DecisionFastPath(state, route) if fast_path else None,
    )
    return app

"""POST /v1/decisions, POST /v1/decisions/batch, GET /v1/decisions/{id}, GET /v1/decisions (recent).

The routes translate HTTP and nothing more: FastAPI parses and validates the body against the
request models built from the model file and checks the caller's key and role; the decision
service (:class:`lendscore.service.decisions.DecisionService`, which the short path of
:mod:`lendscore.service.fastpath` calls too) decides, builds the audit records and commits them
before the answer is sent; :mod:`lendscore.service.responses` writes the answer. The service's
refusals and the audit store's errors are answered by the app's exception handlers (a refusal: 422
naming field and rule; a reused ``Idempotency-Key`` with another body: 409; a store that cannot
commit: 503).

With an ``Idempotency-Key`` header a repeated request returns the stored decision (header
``Idempotent-Replayed: true``) and stores nothing.

``/v1/decisions/batch`` is the batch's path for every method: the ``{decision_id}`` of GET
/v1/decisions/{decision_id} never reads ``batch`` (a decision id is a UUID the service made), so GET
/v1/decisions/batch is a 405 with ``Allow: POST``, as OpenAPI matches paths (concrete before templated).
"""

# no ``from __future__ import annotations``: FastAPI must see the request models built at start-up
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Path, Query, Request, Response, status
from starlette.convertors import StringConvertor, register_url_convertor

from lendscore.service._request import FastJsonRoute
from lendscore.service.audit_records import AuditUnavailable
from lendscore.service.deps import Officer, Scorer, State
from lendscore.service.openapi import errors
from lendscore.service.responses import batch_response, decision_response, stored_response
from lendscore.service.schemas import BatchOut, DecisionOut, DecisionSummary, RequestSchemas

__all__ = ["make_router"]

_DECIDE_WHY = {
    409: "The Idempotency-Key was used before, by the same key, with a different body",
    422: "The request breaks a rule: every field in error, with its rule; or the application cannot be "
    "decided (a raw value the derivation refuses, a policy refusal, amounts too large to compute with), "
    "named by its field. Nothing is stored",
    503: "The audit store could not commit the decision: nothing is answered that is not stored",
}
_REPLAYED: dict[int | str, Any] = {
    200: {
        "headers": {
            "Idempotent-Replayed": {
                "description": "true when the answer is the one stored for a repeated Idempotency-Key "
                "(nothing new is stored)",
                "schema": {"type": "string", "enum": ["true"]},
            }
        }
    }
}
_READ_WHY = {503: "The audit store is unavailable"}


class _DecisionIdConvertor(StringConvertor):
    """A path segment other than ``batch`` (the batch's own path)."""

    regex = "(?!batch$)[^/]+"


register_url_convertor("decision_id", _DecisionIdConvertor())

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=128,
        pattern=r"^[\x21-\x7e]+$",
        description="retry-safe key: a repeat returns the stored decision",
    ),
]


def make_router(schemas: RequestSchemas, max_batch: int) -> APIRouter:
    router = APIRouter(prefix="/v1/decisions", tags=["decisions"], route_class=FastJsonRoute)
    DecisionIn, BatchIn = schemas.decision_in, schemas.batch_in

    # The body types are the request models built from the model file at start-up: FastAPI reads
    # them from the annotations (validation and the OpenAPI schema), but to mypy a variable is not
    # a type (there is no static spelling of a class made by pydantic.create_model), hence the two
    # ``type: ignore[valid-type]``; mypy sees ``body`` as Any.
    # The service comes from the request, not a dependency: each dependency costs FastAPI tens of
    # microseconds per request, a tenth of a decision's whole budget.
    async def post_decision(
        body: DecisionIn,  # type: ignore[valid-type]
        request: Request,
        principal: Scorer,
        idempotency_key: IdempotencyKey = None,
    ) -> Response:
        scope = request.scope
        record = await request.app.state.service.decisions.decide(
            body, principal, idempotency_key, scope["lendscore.request_id"]
        )
        return decision_response(scope, record)

    async def post_batch(
        body: BatchIn,  # type: ignore[valid-type]
        request: Request,
        principal: Scorer,
        idempotency_key: IdempotencyKey = None,
    ) -> Response:
        scope = request.scope
        records = await request.app.state.service.decisions.decide_batch(
            body, principal, idempotency_key, scope["lendscore.request_id"]
        )
        return batch_response(scope, records)

    def recent(
        state: State, _: Officer, limit: Annotated[int, Query(ge=1, le=1000, description="most recent first")] = 20
    ) -> list[dict]:
        limit = min(limit, state.settings.recent_limit)
        try:
            records = state.store.recent_decisions(limit)
        except AuditUnavailable as exc:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the audit store is unavailable") from exc
        return [
            {
                "decision_id": r.decision_id,
                "created_at": r.created_at,
                "applicant_id": r.applicant_id,
                "outcome": r.outcome,
                "pd": r.pd,
                "score": r.score,
                "grade": r.grade,
                "model_version": r.model_version,
            }
            for r in records
        ]

    def get_decision(
        decision_id: Annotated[str, Path(min_length=1, max_length=64)], state: State, _: Officer
    ) -> Response:
        try:
            record = state.store.get_decision(decision_id)
        except AuditUnavailable as exc:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the audit store is unavailable") from exc
        if record is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"decision {decision_id!r} is not in the audit store")
        return stored_response(record)

    router.add_api_route(
        "",
        post_decision,
        methods=["POST"],
        response_model=DecisionOut,
        summary="Decide one application",
        responses={**_REPLAYED, **errors(400, 401, 409, 413, 422, 503, why=_DECIDE_WHY)},
    )
    router.add_api_route(
        "/batch",
        post_batch,
        methods=["POST"],
        response_model=BatchOut,
        summary=f"Decide up to {max_batch} applications in one transaction",
        responses={**_REPLAYED, **errors(400, 401, 409, 413, 422, 503, why=_DECIDE_WHY)},
    )
    router.add_api_route(
        "",
        recent,
        methods=["GET"],
        response_model=list[DecisionSummary],
        summary="Recent decisions (officer)",
        responses=errors(401, 403, 422, 503, why=_READ_WHY),
    )
    router.add_api_route(
        "/{decision_id:decision_id}",
        get_decision,
        methods=["GET"],
        response_model=DecisionOut,
        summary="One stored decision (officer)",
        responses=errors(401, 403, 404, 422, 503, why={404: "No decision with this id is stored", **_READ_WHY}),
    )
    return router

"""POST /v1/decisions, POST /v1/decisions/batch, GET /v1/decisions/{id}, GET /v1/decisions (recent).

Every decision is committed to the audit store before the response is sent. With an
``Idempotency-Key`` header a repeated request returns the stored decision (header
``Idempotent-Replayed: true``) and stores nothing; the same key with a different body is a 409.
"""
# no ``from __future__ import annotations``: FastAPI must see the request models built at start-up
import asyncio
import hashlib
import json
import math
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Path, Query, Request, Response, status

from lendscore.errors import PolicyError
from lendscore.service.audit import AuditConflict, AuditUnavailable, DecisionRecord, new_id
from lendscore.service.deps import Officer, Scorer, State, log_fields
from lendscore.service.schemas import BatchOut, DecisionOut, DecisionSummary, ErrorOut, RequestSchemas

__all__ = ["make_router"]

_ERRORS = {401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 409: {"model": ErrorOut},
           413: {"model": ErrorOut}, 503: {"model": ErrorOut}}
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", min_length=1, max_length=128,
                                              pattern=r"^[\x21-\x7e]+$",
                                              description="retry-safe key: a repeat returns the stored decision")]


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), allow_nan=False)


def _non_finite(obj: Any, path: str = "") -> list[str]:
    if isinstance(obj, float):
        return [] if math.isfinite(obj) else [path]
    if isinstance(obj, dict):
        return [p for k, v in obj.items() for p in _non_finite(v, f"{path}.{k}" if path else str(k))]
    if isinstance(obj, list):
        return [p for i, v in enumerate(obj) for p in _non_finite(v, f"{path}.{i}")]
    return []


def _record(state, item, request_id: str, principal, key: str | None, batch_id: str | None,
            where: str) -> DecisionRecord:
    inputs = item.applicant.model_dump(by_alias=True)
    fin = None if item.finances is None else item.finances.model_dump()
    loan = None if item.loan is None else item.loan.model_dump()
    try:
        out = state.engine.decide(inputs, fin, loan)
    except PolicyError as exc:
        raise HTTPException(422, f"{where}: {exc}") from exc
    except ArithmeticError as exc:  # overflow in the affordability arithmetic
        raise HTTPException(422, f"{where}: the amounts are too large to compute with "
                                 f"({type(exc).__name__})") from exc
    decision_id = new_id()
    created = state.clock()
    stored_inputs = {"applicant": inputs, "finances": fin, "loan": loan, "applicant_id": item.applicant_id}
    result = {"decision_id": decision_id, "request_id": request_id,
              "created_at": created.isoformat(), "applicant_id": item.applicant_id, **out}
    inputs_json = _dumps(stored_inputs)  # field order is fixed by the schema, so this is canonical
    try:
        result_json = _dumps(result)
    except ValueError as exc:  # a non-finite number: refuse rather than store something unreadable
        raise HTTPException(422, f"{where}: the amounts are too large to compute with; "
                                 f"{', '.join(_non_finite(out))} came out non-finite") from exc
    return DecisionRecord(result_json=result_json, inputs_json=inputs_json,
        decision_id=decision_id, request_id=request_id, created_at=created,
        model_version=out["model_version"], policy_version=out["policy_version"], outcome=out["outcome"],
        pd=out["pd"], score=out["score"], grade=out["grade"], inputs=stored_inputs, result=result,
        api_key_name=principal.name, applicant_id=item.applicant_id, idempotency_key=key,
        request_sha256=hashlib.sha256(inputs_json.encode()).hexdigest(), batch_id=batch_id)


async def _commit(state, records: list[DecisionRecord]) -> list[DecisionRecord]:
    try:
        return await asyncio.wrap_future(state.store.submit_decisions(records))
    except AuditUnavailable as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE,
                            "the audit store could not record the decision; nothing was decided, retry later") from exc
    except AuditConflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc


def _check_replay(stored: list[DecisionRecord], fresh: list[DecisionRecord], response: Response) -> None:
    if stored and stored[0].replayed:
        if [s.request_sha256 for s in stored] != [f.request_sha256 for f in fresh]:
            raise HTTPException(status.HTTP_409_CONFLICT,
                                "Idempotency-Key was already used with a different request")
        response.headers["Idempotent-Replayed"] = "true"


def _json_of(r: DecisionRecord) -> str:
    return r.result_json if r.result_json is not None else _dumps(r.result)


def _json_response(text: str, response: Response | None) -> Response:
    """The stored JSON sent as is (it was validated against ``DecisionOut`` by the tests, not per request)."""
    headers = None if response is None else {k: v for k, v in response.headers.items() if k.lower() == "idempotent-replayed"}
    return Response(text, media_type="application/json", headers=headers)


def make_router(schemas: RequestSchemas, max_batch: int) -> APIRouter:
    router = APIRouter(prefix="/v1/decisions", tags=["decisions"])
    DecisionIn, BatchIn = schemas.decision_in, schemas.batch_in

    async def post_decision(body: DecisionIn, request: Request, response: Response, state: State,
                            principal: Scorer, idempotency_key: IdempotencyKey = None) -> Response:
        rid = request.scope["lendscore.request_id"]
        key = f"{principal.name}:{idempotency_key}" if idempotency_key else None
        record = _record(state, body, rid, principal, key, None, "application")
        stored = await _commit(state, [record])
        _check_replay(stored, [record], response)
        state.metrics.count_decisions([] if stored[0].replayed else [stored[0].outcome])
        fields = log_fields(request)
        fields.update(decision_id=stored[0].decision_id, outcome=stored[0].outcome,
                      model_version=stored[0].model_version, replayed=stored[0].replayed)
        return _json_response(_json_of(stored[0]), response)

    async def post_batch(body: BatchIn, request: Request, response: Response, state: State,
                         principal: Scorer, idempotency_key: IdempotencyKey = None) -> Response:
        rid = request.scope["lendscore.request_id"]
        batch_id = new_id()
        records = []
        for i, item in enumerate(body.applications):
            key = f"{principal.name}:{idempotency_key}#{i}" if idempotency_key else None
            records.append(_record(state, item, rid, principal, key, batch_id, f"applications.{i}"))
        stored = await _commit(state, records)
        _check_replay(stored, records, response)
        if not stored[0].replayed:
            state.metrics.count_decisions([r.outcome for r in stored])
        log_fields(request).update(batch_id=stored[0].batch_id, n_decisions=len(stored),
                                   model_version=stored[0].model_version, replayed=stored[0].replayed)
        body_json = ('{"batch_id":' + json.dumps(stored[0].batch_id) + ',"decisions":['
                     + ",".join(_json_of(r) for r in stored) + "]}")
        return _json_response(body_json, response)

    def recent(state: State, _: Officer,
               limit: Annotated[int, Query(ge=1, le=1000, description="most recent first")] = 20) -> list[dict]:
        limit = min(limit, state.settings.recent_limit)
        try:
            records = state.store.recent_decisions(limit)
        except AuditUnavailable as exc:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the audit store is unavailable") from exc
        return [{"decision_id": r.decision_id, "created_at": r.created_at, "applicant_id": r.applicant_id,
                 "outcome": r.outcome, "pd": r.pd, "score": r.score, "grade": r.grade,
                 "model_version": r.model_version} for r in records]

    def get_decision(decision_id: Annotated[str, Path(min_length=1, max_length=64)], state: State,
                     _: Officer) -> Response:
        try:
            record = state.store.get_decision(decision_id)
        except AuditUnavailable as exc:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the audit store is unavailable") from exc
        if record is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"decision {decision_id!r} is not in the audit store")
        return _json_response(_json_of(record), None)

    router.add_api_route("", post_decision, methods=["POST"], response_model=DecisionOut,
                         summary="Decide one application", responses=_ERRORS)
    router.add_api_route("/batch", post_batch, methods=["POST"], response_model=BatchOut,
                         summary=f"Decide up to {max_batch} applications in one transaction", responses=_ERRORS)
    router.add_api_route("", recent, methods=["GET"], response_model=list[DecisionSummary],
                         summary="Recent decisions (officer)", responses=_ERRORS)
    router.add_api_route("/{decision_id}", get_decision, methods=["GET"], response_model=DecisionOut,
                         summary="One stored decision (officer)", responses={404: {"model": ErrorOut}, **_ERRORS})
    return router

"""POST /v1/outcomes: the realised outcome of a decided loan, for monitoring (admin)."""
from __future__ import annotations

import asyncio

from fastapi import APIRouter, HTTPException, Request, status

from lendscore.service.audit import AuditConflict, AuditNotFound, AuditUnavailable, OutcomeRecord
from lendscore.service.deps import Admin, State, log_fields
from lendscore.service.schemas import ErrorOut, OutcomeIn, OutcomeOut

__all__ = ["router"]

router = APIRouter(prefix="/v1/outcomes", tags=["outcomes"])


@router.post("", response_model=OutcomeOut, status_code=status.HTTP_201_CREATED,
             responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut}, 503: {"model": ErrorOut}})
async def post_outcome(body: OutcomeIn, request: Request, state: State, principal: Admin) -> dict:
    """Record whether the loan of a stored decision defaulted (one outcome per decision)."""
    record = OutcomeRecord(decision_id=body.decision_id, defaulted=int(body.defaulted),
                           reported_at=state.clock(), reported_by=principal.name, outcome_date=body.outcome_date)
    try:
        await asyncio.wrap_future(state.store.submit_outcome(record))
    except AuditNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except AuditConflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    except AuditUnavailable as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the audit store could not record the outcome") from exc
    log_fields(request).update(decision_id=body.decision_id)
    return {"decision_id": record.decision_id, "defaulted": bool(record.defaulted),
            "outcome_date": record.outcome_date, "reported_at": record.reported_at}

"""POST /v1/outcomes and /v1/outcomes/batch: realised outcomes of decided loans (admin).

Both are validated with :func:`lendscore.monitoring.validate_outcomes` against the stored decisions
they name and the outcomes already stored: unknown decisions, duplicates, outcomes dated before their
decision (by UTC day), missing fields, bad ``defaulted`` and unreadable dates are refused with a
reason and counted (``lendscore_outcomes_total{result=<reason>}``). A single outcome answers 404 for
``unknown_decision``, 409 for ``duplicate`` and 422 for the other reasons; a batch stores the
accepted rows in one transaction and answers the accepted count and the rejection report.
"""

from __future__ import annotations

import asyncio

import pandas as pd
from fastapi import APIRouter, HTTPException, Request, status

from lendscore.monitoring import REASONS, validate_outcomes
from lendscore.service.audit import AuditConflict, AuditNotFound, AuditUnavailable, OutcomeRecord
from lendscore.service.deps import Admin, State, log_fields
from lendscore.service.openapi import errors
from lendscore.service.schemas import (
    ErrorOut,
    OutcomeBatchIn,
    OutcomeBatchOut,
    OutcomeIn,
    OutcomeOut,
    ValidationErrorOut,
)

__all__ = ["router"]

router = APIRouter(prefix="/v1/outcomes", tags=["outcomes"])
_STATUS = {"unknown_decision": status.HTTP_404_NOT_FOUND, "duplicate": status.HTTP_409_CONFLICT}
_MAX_LISTED = 100


def _validate(state, frame: pd.DataFrame):
    """``validate_outcomes`` against the decisions and stored outcomes the batch names (store reads)."""
    ids = [str(i) for i in frame["decision_id"].dropna().unique()]
    decisions = state.store.decision_times(ids)
    existing = pd.DataFrame({"decision_id": sorted(state.store.stored_outcome_ids(ids))}, dtype=object)
    return validate_outcomes(frame, decisions, existing=existing)


def _records(accepted: pd.DataFrame, when, by: str) -> list[OutcomeRecord]:
    return [
        OutcomeRecord(
            decision_id=d,
            defaulted=int(f),
            reported_at=when,
            reported_by=by,
            outcome_date=None if pd.isna(o) else o.date(),
        )
        for d, f, o in zip(accepted["decision_id"], accepted["defaulted"], accepted["outcome_date"], strict=True)
    ]


async def _store(state, records: list[OutcomeRecord]) -> list:
    try:
        return await asyncio.wrap_future(state.store.submit_outcomes(records))
    except AuditUnavailable as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, "the audit store could not record the outcomes"
        ) from exc


@router.post(
    "",
    response_model=OutcomeOut,
    status_code=status.HTTP_201_CREATED,
    responses=errors(
        400,
        401,
        403,
        404,
        409,
        413,
        422,
        503,
        why={
            404: "unknown_decision: no decision with this id is stored",
            409: "duplicate: an outcome is already stored for this decision",
            422: "The request breaks a rule of the request model (ValidationErrorOut), or the outcome is "
            "refused with a reason (ErrorOut, detail '<reason>: <why>': missing_field when outcome_date is "
            "absent or null, before_decision)",
            503: "The audit store could not record the outcome",
        },
        body_422=ValidationErrorOut | ErrorOut,
    ),
)
async def post_outcome(body: OutcomeIn, request: Request, state: State, principal: Admin) -> dict:
    """Record whether the loan of a stored decision defaulted (one outcome per decision)."""
    frame = pd.DataFrame(
        {
            "decision_id": [body.decision_id],
            "defaulted": [int(body.defaulted)],
            "outcome_date": [None if body.outcome_date is None else body.outcome_date.isoformat()],
        },
        dtype=object,
    )
    accepted, report = await asyncio.to_thread(_validate, state, frame)
    if report.n_rejected:
        row = report.rows.iloc[0]
        state.metrics.count_outcomes(0, report.counts)
        raise HTTPException(_STATUS.get(row["reason"], 422), f"{row['reason']}: {row['detail']}")
    when = state.clock()
    (result,) = await _store(state, _records(accepted, when, principal.name))
    if isinstance(result, (AuditNotFound, AuditConflict)):  # a concurrent write got there first
        reason = "unknown_decision" if isinstance(result, AuditNotFound) else "duplicate"
        state.metrics.count_outcomes(0, {reason: 1})
        raise HTTPException(_STATUS[reason], f"{reason}: {result}")
    state.metrics.count_outcomes(1, {})
    log_fields(request).update(decision_id=body.decision_id)
    return {
        "decision_id": result.decision_id,
        "defaulted": bool(result.defaulted),
        "outcome_date": result.outcome_date,
        "reported_at": result.reported_at,
    }


@router.post(
    "/batch",
    response_model=OutcomeBatchOut,
    responses=errors(400, 401, 403, 413, 422, 503, why={503: "The audit store could not record the outcomes"}),
)
async def post_outcomes(body: OutcomeBatchIn, request: Request, state: State, principal: Admin) -> dict:
    """Record a batch of outcomes: valid rows are stored (one transaction), the others refused and counted."""
    rows = [o.model_dump() for o in body.outcomes]
    frame = pd.DataFrame(rows, columns=["decision_id", "defaulted", "outcome_date"], dtype=object)
    accepted, report = await asyncio.to_thread(_validate, state, frame)
    counts = dict(report.counts)
    refused = report.rows.astype(object).where(report.rows.notna(), None).to_dict(orient="records")
    n_accepted = 0
    if len(accepted):
        results = await _store(state, _records(accepted, state.clock(), principal.name))
        refused_rows = set(report.rows["row"].tolist())
        accepted_rows = [p for p in range(len(rows)) if p not in refused_rows]  # batch order, like ``accepted``
        for pos, res in zip(accepted_rows, results, strict=True):
            if isinstance(res, (AuditNotFound, AuditConflict)):  # a concurrent write got there first
                reason = "unknown_decision" if isinstance(res, AuditNotFound) else "duplicate"
                counts[reason] += 1
                refused.append(
                    {"row": pos, "decision_id": rows[pos]["decision_id"], "reason": reason, "detail": str(res)}
                )
            else:
                n_accepted += 1
    state.metrics.count_outcomes(n_accepted, counts)
    log_fields(request).update(n_outcomes=len(rows), n_accepted=n_accepted)
    refused.sort(key=lambda r: r["row"])
    return {
        "n_received": len(rows),
        "n_accepted": n_accepted,
        "n_rejected": len(rows) - n_accepted,
        "counts": {r: counts.get(r, 0) for r in REASONS},
        "rejected": refused[:_MAX_LISTED],
    }

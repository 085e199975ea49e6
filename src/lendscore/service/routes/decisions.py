"""POST /v1/decisions, POST /v1/decisions/batch, GET /v1/decisions/{id}, GET /v1/decisions (recent).

Every decision is committed to the audit store before the response is sent. With an
``Idempotency-Key`` header a repeated request returns the stored decision (header
``Idempotent-Replayed: true``) and stores nothing; the same key with a different body is a 409.

Each application is decided through :class:`lendscore.engine.DecisionEngine` as ``lendscore decide``
decides it: the finances are completed by the policy first (``engine.application``), the model
derives its inputs from that application (dated by the decision's day when it carries no
application date), and the audit record stores the application as decided (the applicant's fields
as sent, the completed finances, the loan), so re-deriving it gives the same NTH. A raw value the
derivation refuses (an earliest credit line after the application date, ...) is a 422 naming the
field and the rule, in the shape of a request validation error.
"""
# no ``from __future__ import annotations``: FastAPI must see the request models built at start-up
import asyncio
import contextlib
import datetime as dt
import gc
import hashlib
import math
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Path, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError

from lendscore.data.derivation import derive_one
from lendscore.errors import DataError, PolicyError
from lendscore.service._json import dumps, dumps_std, non_finite
from lendscore.service._request import FastJsonRoute
from lendscore.service.audit import AuditConflict, AuditUnavailable, DecisionRecord, new_id
from lendscore.service.deps import Officer, Scorer, State, log_fields
from lendscore.service.schemas import BatchOut, DecisionOut, DecisionSummary, ErrorOut, RequestSchemas

__all__ = ["InputRefused", "make_router"]

_ERRORS = {401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 409: {"model": ErrorOut},
           413: {"model": ErrorOut}, 503: {"model": ErrorOut}}
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", min_length=1, max_length=128,
                                              pattern=r"^[\x21-\x7e]+$",
                                              description="retry-safe key: a repeat returns the stored decision")]


_AFFORD_NUMBERS = ("income", "deductions", "net_income", "existing_obligations", "new_instalment", "nth",
                   "nth_share", "foir", "floor", "margin")


def _finite(out: dict) -> bool:
    """Whether every number of a decision dict is finite (fast: one sum over the known numeric fields;
    the amounts are bounded by the request schema, so a finite sum cannot overflow)."""
    try:
        total = out["pd"] + out["score"] + sum(out["points"].values())
        a = out["affordability"]
        if a is not None:
            total += sum([a[k] for k in _AFFORD_NUMBERS])
            c = a["counter_offer"]
            total += (c["max_amount"] or 0.0) + (c["min_term"] or 0)
        for r in out["reasons"]:
            s = r.get("shortfall")
            if s is not None:
                total += s
        return math.isfinite(total)
    except TypeError:  # a field that is not a number where one was expected: the general walk below
        return _finite_walk(out)


def _finite_walk(out: dict) -> bool:
    nums = [out["pd"], out["score"], *out["points"].values()]
    a = out["affordability"]
    if a is not None:
        nums += [v for v in a.values() if type(v) is float or type(v) is int]
        nums += [v for v in a["counter_offer"].values() if v is not None]
    nums += [r["shortfall"] for r in out["reasons"] if r.get("shortfall") is not None]
    return math.isfinite(sum(nums))


def _build(state, raw: dict, out: dict, shadow: dict | None, request_id: str, principal, key: str | None,
           batch_id: str | None, created, created_iso: str, where: str, sent_finances: dict | None) -> DecisionRecord:
    """The audit record of one decided application (``raw``: the application as decided, the
    validated request with its finances completed; ``sent_finances``: the finances as sent).

    ``request_sha256`` is the hash of the request as sent (its finances not completed), as before
    the finances were completed: an idempotent replay compares the bodies, whatever the policy's
    deduction rate, and hashes stored by earlier versions stay comparable."""
    if not _finite(out):  # refuse rather than store something unreadable
        raise HTTPException(422, f"{where}: the amounts are too large to compute with; "
                                 f"{', '.join(non_finite(out))} came out non-finite")
    decision_id = new_id()
    applicant_id = raw.get("applicant_id")
    stored_inputs = {"applicant": raw["applicant"], "finances": raw.get("finances"), "loan": raw.get("loan"),
                     "applicant_id": applicant_id}
    # field order is fixed by the schema, so the text is canonical; with an idempotency key the
    # standard library's spelling is kept, so stored request hashes stay comparable across versions
    spell = dumps_std if key else dumps
    inputs_json = spell(stored_inputs)
    sent_json = inputs_json if sent_finances == stored_inputs["finances"] else \
        spell({**stored_inputs, "finances": sent_finances})
    result = {"decision_id": decision_id, "request_id": request_id, "created_at": created_iso,
              "applicant_id": applicant_id, **out}
    return DecisionRecord(result_json=dumps(result), inputs_json=inputs_json,
        decision_id=decision_id, request_id=request_id, created_at=created,
        model_version=out["model_version"], policy_version=out["policy_version"], outcome=out["outcome"],
        pd=out["pd"], score=out["score"], grade=out["grade"], inputs=stored_inputs, result=result,
        api_key_name=principal.name, applicant_id=applicant_id, idempotency_key=key,
        request_sha256=hashlib.sha256(sent_json.encode()).hexdigest(), batch_id=batch_id, shadow=shadow)


class InputRefused(RequestValidationError):
    """A raw value the model's derivation refuses (a 422 in the shape of a request validation
    error: ``field`` is the dotted path in the request, ``rule`` the rule it breaks). The short path
    hands such a request to the FastAPI route, which answers it."""


_GROUPS = ("finances", "loan")


def _refusal(exc: DataError, prefix: tuple) -> InputRefused:
    """``exc`` (naming its field in ``exc.column``) as a 422 error at ``prefix`` in the request body."""
    name = exc.column
    text = str(exc)
    rule = getattr(exc, "rule", None)
    if not rule:  # the derivation's message reads "<field> <rule>; got <value>"
        rule = text.removeprefix(f"{name} ") if name else text
        rule = rule.split("; got ", 1)[0]
    group, _, rest = (name or "").partition(".")
    path = (group, rest) if group in _GROUPS and rest else ("applicant",) + ((name,) if name else ())
    return InputRefused([{"loc": ("body", *prefix, *path), "type": rule, "msg": text}])


def _day(created: dt.datetime) -> dt.date:
    """The decision's day (UTC), which dates an application without an application date."""
    return (created.astimezone(dt.timezone.utc) if created.tzinfo is not None else created).date()


def _with_iso_dates(applicant: dict, date_fields: tuple[str, ...]) -> dict:
    """Date fields as ISO text (what is stored, hashed and derived from)."""
    for k in date_fields:
        v = applicant.get(k)
        if v is not None:
            applicant[k] = v.isoformat()
    return applicant


class _PolicyErrors:
    """Context manager mapping the decision package's refusals to 422 naming the application, and
    a derivation's refusal (``DataError``) to :class:`InputRefused` naming the single request's field."""

    __slots__ = ("where",)

    def __init__(self, where: str):
        self.where = where

    def __enter__(self):
        return self

    def __exit__(self, etype, exc, tb):
        if exc is None:
            return False
        if isinstance(exc, DataError):
            raise _refusal(exc, ()) from exc
        if isinstance(exc, PolicyError):
            raise HTTPException(422, f"{self.where}: {exc}") from exc
        if isinstance(exc, ArithmeticError):  # overflow in the affordability arithmetic
            raise HTTPException(422, f"{self.where}: the amounts are too large to compute with "
                                     f"({type(exc).__name__})") from exc
        return False


def _record(state, item, request_id: str, principal, key: str | None, batch_id: str | None,
            where: str) -> DecisionRecord:
    """One application (the single path: ``predict_one``)."""
    eng = state.engine
    applicant = item.applicant.model_dump(by_alias=True)
    if state.schemas.date_fields:
        _with_iso_dates(applicant, state.schemas.date_fields)
    loan = None if item.loan is None else item.loan.model_dump()
    sent = None if item.finances is None else item.finances.model_dump()
    created = state.clock()
    day = _day(created)
    app = eng.application(applicant, sent, loan)
    with _PolicyErrors(where):
        out = eng.decide_application(app, decision_date=day)
    raw = {"applicant": applicant, "finances": app.get("finances"), "loan": loan, "applicant_id": item.applicant_id}
    return _build(state, raw, out, eng.shadow(app, decision_date=day), request_id, principal, key, batch_id,
                  created, created.isoformat(), where, sent)


def _first_refused(eng, apps: list[dict], day: dt.date, exc: DataError) -> InputRefused:
    """The batch's refusal named at its first refused application, in row order (derived one by one)."""
    for i, app in enumerate(apps):
        try:
            derive_one(app, eng.model.inputs_, decision_date=day)
        except DataError as one:
            return _refusal(one, ("applications", i))
    return _refusal(exc, ("applications",))  # pragma: no cover - a frame refuses only what a row refuses


def _records(state, body, request_id: str, principal, idempotency_key: str | None) -> list[DecisionRecord]:
    """A whole batch: one vectorised scoring pass, then the policy by column (``decide_batch``).

    A refused application is named as before (``applications.<i>``, the first one in row order): on
    a policy refusal the batch is decided again row by row, which raises exactly the old error; on
    a derivation's refusal the applications are derived one by one up to the first refused.
    """
    eng = state.engine
    dates = state.schemas.date_fields
    raws = body.model_dump(by_alias=True)["applications"]  # validated once by FastAPI; no per-row round trips
    created = state.clock()
    day = _day(created)
    apps, sent = [], []
    for r in raws:
        if dates:
            _with_iso_dates(r["applicant"], dates)
        app = eng.application(r["applicant"], r["finances"], r["loan"])
        sent.append(r["finances"])
        r["finances"] = app.get("finances")  # stored as decided
        apps.append(app)
    with _PolicyErrors("applications"):
        try:
            scored, warnings = eng.score_applications(apps, decision_date=day)
        except DataError as exc:
            raise _first_refused(eng, apps, day, exc) from exc
    shadows = eng.shadow_batch(apps, decision_date=day)
    try:
        outs = eng.decide_scored_applications(scored, apps)
    except (PolicyError, ArithmeticError):
        outs = None
    batch_id = new_id()
    created_iso = created.isoformat()
    records = []
    for i, (raw, app, sc, sh, fin) in enumerate(zip(raws, apps, scored, shadows, sent, strict=True)):
        where = f"applications.{i}"
        if outs is None:
            with _PolicyErrors(where):
                out = eng.decide_scored_application(sc, app)
        else:
            out = outs[i]
        out["warnings"] = warnings[i]
        key = f"{principal.name}:{idempotency_key}#{i}" if idempotency_key else None
        records.append(_build(state, raw, out, sh, request_id, principal, key, batch_id, created, created_iso, where,
                              fin))
    return records


@contextlib.contextmanager
def _collector_paused():
    """The cyclic garbage collector off while a batch's records are built (no ``await`` inside, so
    no other request runs meanwhile): a batch of 1,000 allocates a few hundred thousand containers
    that all live until the response, so collecting midway only walks them and finds nothing."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


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
    return r.result_json if r.result_json is not None else dumps(r.result)


def _json_response(text: str, response: Response | None) -> Response:
    """The stored JSON sent as is (it was validated against ``DecisionOut`` by the tests, not per request)."""
    headers = None if response is None else {k: v for k, v in response.headers.items() if k.lower() == "idempotent-replayed"}
    return Response(text, media_type="application/json", headers=headers)


async def answer_decision(state, body, scope: dict, principal, idempotency_key: str | None) -> Response:
    """POST /v1/decisions after validation and authentication: decide, commit, answer (the route
    and the short path of :mod:`lendscore.service.fastpath` both end here)."""
    key = f"{principal.name}:{idempotency_key}" if idempotency_key else None
    record = _record(state, body, scope["lendscore.request_id"], principal, key, None, "application")
    stored = await _commit(state, [record])
    response = _json_response(_json_of(stored[0]), None)
    _check_replay(stored, [record], response)
    state.metrics.count_decisions([] if stored[0].replayed else [stored[0].outcome])
    scope.setdefault("lendscore.log", {}).update(
        decision_id=stored[0].decision_id, outcome=stored[0].outcome, model_version=stored[0].model_version,
        replayed=stored[0].replayed)
    return response


def make_router(schemas: RequestSchemas, max_batch: int) -> APIRouter:
    router = APIRouter(prefix="/v1/decisions", tags=["decisions"], route_class=FastJsonRoute)
    DecisionIn, BatchIn = schemas.decision_in, schemas.batch_in

    async def post_decision(body: DecisionIn, request: Request, principal: Scorer,
                            idempotency_key: IdempotencyKey = None) -> Response:
        # the state comes from the request, not a dependency: each dependency costs FastAPI
        # tens of microseconds per request, a tenth of this route's whole budget
        return await answer_decision(request.app.state.service, body, request.scope, principal, idempotency_key)

    async def post_batch(body: BatchIn, request: Request, response: Response, state: State,
                         principal: Scorer, idempotency_key: IdempotencyKey = None) -> Response:
        rid = request.scope["lendscore.request_id"]
        with _collector_paused():
            records = _records(state, body, rid, principal, idempotency_key)
        stored = await _commit(state, records)
        _check_replay(stored, records, response)
        if not stored[0].replayed:
            state.metrics.count_decisions([r.outcome for r in stored])
        log_fields(request).update(batch_id=stored[0].batch_id, n_decisions=len(stored),
                                   model_version=stored[0].model_version, replayed=stored[0].replayed)
        body_json = ('{"batch_id":' + dumps(stored[0].batch_id) + ',"decisions":['
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

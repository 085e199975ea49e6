"""The decision service: a validated request in, its committed audit record out.

:class:`DecisionService` is what POST /v1/decisions and /v1/decisions/batch do once HTTP is dealt
with; the FastAPI routes (:mod:`lendscore.service.routes.decisions`) and the short path
(:mod:`lendscore.service.fastpath`) both call it and only translate HTTP around it. It imports
no FastAPI.

Each application is decided through :class:`lendscore.engine.DecisionEngine` as ``lendscore decide``
decides it: the finances are completed by the policy first (``engine.application``), the model
derives its inputs from that application (dated by the decision's day when it carries no
application date), and the audit record stores the application as decided (the applicant's fields
as sent, the completed finances, the loan), so re-deriving it gives the same NTH. A batch is scored
in one vectorised pass and decided by column, with the same results as one by one.

Every decision is committed to the audit store before the call returns. With an idempotency key a
repeated request returns the stored records (``replayed=True``) and stores nothing; the same key
with a different request raises :class:`~lendscore.service.audit_records.AuditConflict`. A store
that cannot commit raises :class:`~lendscore.service.audit_records.AuditUnavailable`.

An application that cannot be decided raises :class:`DecisionRefused` naming the field and the
rule, before anything is stored: a raw value the derivation refuses (``applicant.earliest_cr_line``:
after the application date), a policy refusal, or amounts too large to compute with (a decision
with a non-finite number is refused rather than stored).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import gc
import hashlib
import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from lendscore.data.derivation import derive_one
from lendscore.engine import DecisionEngine
from lendscore.errors import DataError, LendscoreError, PolicyError
from lendscore.service._json import dumps, dumps_std, non_finite
from lendscore.service.audit_records import AuditConflict, AuditUnavailable, DecisionRecord, new_id

__all__ = ["DecisionRefused", "DecisionService"]

_GROUPS = ("finances", "loan")
_AFFORD_NUMBERS = (
    "income",
    "deductions",
    "net_income",
    "existing_obligations",
    "new_instalment",
    "nth",
    "nth_share",
    "foir",
    "floor",
    "margin",
)
TOO_LARGE = "too_large_to_compute"
POLICY = "policy"


class DecisionRefused(LendscoreError, ValueError):
    """An application the service cannot decide (HTTP: a 422 in the shape of a request validation
    error). ``field`` is where in the request body (dotted: ``applicant.earliest_cr_line``,
    ``applications.3.finances.gross_income``; ``applications.3`` or ``(body)`` for a whole
    application), ``rule`` the rule it breaks (the derivation's rule, ``policy`` or
    ``too_large_to_compute``)."""

    def __init__(self, field: str, rule: str, message: str):
        super().__init__(message)
        self.field = field
        self.rule = rule
        self.message = message

    def errors(self) -> list[dict[str, str]]:
        """``[{"field", "rule", "message"}]``, as a request validation error lists them."""
        return [{"field": self.field, "rule": self.rule, "message": self.message}]


def _where(prefix: tuple) -> str:
    return ".".join(str(p) for p in prefix) or "(body)"


def _derivation_refused(exc: DataError, prefix: tuple) -> DecisionRefused:
    """``exc`` (naming its field in ``exc.column``) at ``prefix`` in the request body."""
    name = exc.column
    text = str(exc)
    rule = getattr(exc, "rule", None)
    if not rule:  # the derivation's message reads "<field> <rule>; got <value>"
        rule = text.removeprefix(f"{name} ") if name else text
        rule = rule.split("; got ", 1)[0]
    group, _, rest = (name or "").partition(".")
    path = (group, rest) if group in _GROUPS and rest else ("applicant",) + ((name,) if name else ())
    return DecisionRefused(_where((*prefix, *path)), rule, text)


def _refused(exc: DataError | PolicyError | ArithmeticError, prefix: tuple) -> DecisionRefused:
    """The refusal an error raised while deciding means, at ``prefix`` in the request body."""
    if isinstance(exc, DataError):
        return _derivation_refused(exc, prefix)
    if isinstance(exc, PolicyError):
        return DecisionRefused(_where(prefix), POLICY, str(exc))
    # overflow in the affordability arithmetic
    return DecisionRefused(
        _where(prefix), TOO_LARGE, f"the amounts are too large to compute with ({type(exc).__name__})"
    )


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


def _day(created: dt.datetime) -> dt.date:
    """The decision's day (UTC), which dates an application without an application date."""
    return (created.astimezone(dt.UTC) if created.tzinfo is not None else created).date()


def _with_iso_dates(applicant: dict, date_fields: tuple[str, ...]) -> dict:
    """Date fields as ISO text (what is stored, hashed and derived from)."""
    for k in date_fields:
        v = applicant.get(k)
        if v is not None:
            applicant[k] = v.isoformat()
    return applicant


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
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


class _Call:
    """What the records of one request share: who asked, when, under which request (and batch) id."""

    __slots__ = ("api_key_name", "batch_id", "created", "created_iso", "request_id")

    def __init__(self, request_id: str, api_key_name: str, created: dt.datetime, batch_id: str | None = None):
        self.request_id = request_id
        self.api_key_name = api_key_name
        self.created = created
        self.created_iso = created.isoformat()
        self.batch_id = batch_id


class DecisionService:
    """Decides validated requests and commits their audit records (see the module docstring).

    ``engine`` decides, ``store`` keeps the records, ``clock`` dates them (UTC), ``metrics``
    counts the outcomes of what was stored (not of replays); ``date_fields`` are the applicant's
    date fields, which the request model gives as dates and the records keep as ISO text.
    """

    def __init__(
        self,
        engine: DecisionEngine,
        store: Any,
        clock: Callable[[], dt.datetime],
        metrics: Any,
        date_fields: tuple[str, ...] = (),
    ):
        self.engine = engine
        self.store = store
        self.clock = clock
        self.metrics = metrics
        self.date_fields = tuple(date_fields)

    # ------------------------------------------------------------------ the two doors
    async def decide(
        self, request: Any, principal: Any, idempotency_key: str | None, request_id: str
    ) -> DecisionRecord:
        """Decide one validated request (the request model's instance: ``applicant``, ``finances``,
        ``loan``, ``applicant_id``) for ``principal`` and return its record as stored (or, for a
        repeated ``idempotency_key``, the record stored the first time, ``replayed=True``)."""
        key = f"{principal.name}:{idempotency_key}" if idempotency_key else None
        record = self._decide_one(request, _Call(request_id, principal.name, self.clock()), key)
        return (await self._commit([record]))[0]

    async def decide_batch(
        self, request: Any, principal: Any, idempotency_key: str | None, request_id: str
    ) -> list[DecisionRecord]:
        """Decide a validated batch (``applications``) in one scoring pass and commit its records in
        one transaction (all or none); an idempotency key covers the whole batch."""
        with _collector_paused():
            records = self._decide_many(request, request_id, principal.name, idempotency_key)
        return await self._commit(records)

    # ------------------------------------------------------------------ deciding
    def _decide_one(self, item: Any, call: _Call, key: str | None) -> DecisionRecord:
        """One application on the single path (``predict_one``)."""
        eng = self.engine
        applicant = item.applicant.model_dump(by_alias=True)
        if self.date_fields:
            _with_iso_dates(applicant, self.date_fields)
        loan = None if item.loan is None else item.loan.model_dump()
        sent = None if item.finances is None else item.finances.model_dump()
        day = _day(call.created)
        app = eng.application(applicant, sent, loan)
        try:
            out = eng.decide_application(app, decision_date=day)
        except (DataError, PolicyError, ArithmeticError) as exc:
            raise _refused(exc, ()) from exc
        inputs = {
            "applicant": applicant,
            "finances": app.get("finances"),
            "loan": loan,
            "applicant_id": item.applicant_id,
        }
        return self._record(call, inputs, sent, out, eng.shadow(app, decision_date=day), key, ())

    def _decide_many(
        self, body: Any, request_id: str, api_key_name: str, idempotency_key: str | None
    ) -> list[DecisionRecord]:
        """A whole batch: one vectorised scoring pass, then the policy by column (``decide_batch``).

        A refused application is named as on the single path, at ``applications.<i>`` (the first in
        row order): on a policy refusal the batch is decided again row by row, which raises exactly
        that row's refusal; on a derivation's refusal the applications are derived one by one up
        to the first refused.
        """
        eng = self.engine
        dates = self.date_fields
        raws = body.model_dump(by_alias=True)["applications"]  # validated once; no per-row round trips
        call = _Call(request_id, api_key_name, self.clock(), new_id())
        day = _day(call.created)
        apps, sent = [], []
        for r in raws:
            if dates:
                _with_iso_dates(r["applicant"], dates)
            app = eng.application(r["applicant"], r["finances"], r["loan"])
            sent.append(r["finances"])
            r["finances"] = app.get("finances")  # stored as decided
            apps.append(app)
        try:
            scored, warnings = eng.score_applications(apps, decision_date=day)
        except DataError as exc:
            raise self._first_refused(apps, day, exc) from exc
        except (PolicyError, ArithmeticError) as exc:
            raise _refused(exc, ("applications",)) from exc
        shadows = eng.shadow_batch(apps, decision_date=day)
        try:
            outs = eng.decide_scored_applications(scored, apps)
        except (PolicyError, ArithmeticError):
            outs = None
        records = []
        for i, (raw, app, sc, sh, fin) in enumerate(zip(raws, apps, scored, shadows, sent, strict=True)):
            if outs is None:
                try:
                    out = eng.decide_scored_application(sc, app)
                except (PolicyError, ArithmeticError) as exc:
                    raise _refused(exc, ("applications", i)) from exc
            else:
                out = outs[i]
            out["warnings"] = warnings[i]
            key = f"{api_key_name}:{idempotency_key}#{i}" if idempotency_key else None
            records.append(self._record(call, raw, fin, out, sh, key, ("applications", i)))
        return records

    def _first_refused(self, apps: list[dict], day: dt.date, exc: DataError) -> DecisionRefused:
        """The batch's refusal named at its first refused application, in row order (derived one by one)."""
        for i, app in enumerate(apps):
            try:
                derive_one(app, self.engine.model.inputs_, decision_date=day)
            except DataError as one:
                return _derivation_refused(one, ("applications", i))
        return _derivation_refused(exc, ("applications",))  # pragma: no cover - a frame refuses only what a row refuses

    # ------------------------------------------------------------------ the record
    @staticmethod
    def _record(
        call: _Call,
        inputs: dict,
        sent_finances: dict | None,
        out: dict,
        shadow: dict | None,
        key: str | None,
        where: tuple,
    ) -> DecisionRecord:
        """The audit record of one decided application. ``inputs``: the application as decided
        (``applicant, finances, loan, applicant_id``; the finances completed), ``sent_finances``: the
        finances as sent, ``where``: the application's place in the request (for a refusal).

        ``request_sha256`` hashes the request as sent (its finances not completed): an idempotent
        replay compares the bodies whatever the policy's deduction rate, and hashes stored by
        earlier versions stay comparable."""
        if not _finite(out):  # refuse rather than store something unreadable
            raise DecisionRefused(
                _where(where),
                TOO_LARGE,
                f"the amounts are too large to compute with; {', '.join(non_finite(out))} came out non-finite",
            )
        decision_id = new_id()
        applicant_id = inputs["applicant_id"]
        stored = {
            "applicant": inputs["applicant"],
            "finances": inputs["finances"],
            "loan": inputs["loan"],
            "applicant_id": applicant_id,
        }
        # field order is fixed by the schema, so the text is canonical; with an idempotency key the
        # standard library's spelling is kept, so stored request hashes stay comparable across versions
        spell = dumps_std if key else dumps
        inputs_json = spell(stored)
        sent_json = inputs_json if sent_finances == stored["finances"] else spell({**stored, "finances": sent_finances})
        result = {
            "decision_id": decision_id,
            "request_id": call.request_id,
            "created_at": call.created_iso,
            "applicant_id": applicant_id,
            **out,
        }
        return DecisionRecord(
            result_json=dumps(result),
            inputs_json=inputs_json,
            decision_id=decision_id,
            request_id=call.request_id,
            created_at=call.created,
            model_version=out["model_version"],
            policy_version=out["policy_version"],
            outcome=out["outcome"],
            pd=out["pd"],
            score=out["score"],
            grade=out["grade"],
            inputs=stored,
            result=result,
            api_key_name=call.api_key_name,
            applicant_id=applicant_id,
            idempotency_key=key,
            request_sha256=hashlib.sha256(sent_json.encode()).hexdigest(),
            batch_id=call.batch_id,
            shadow=shadow,
        )

    # ------------------------------------------------------------------ the store
    async def _commit(self, records: Sequence[DecisionRecord]) -> list[DecisionRecord]:
        """Commit ``records`` (one transaction) and return them as stored; a replay must be of the
        same request (its hashes), else :class:`AuditConflict`."""
        try:
            stored = await asyncio.wrap_future(self.store.submit_decisions(records))
        except AuditUnavailable as exc:
            raise AuditUnavailable(
                "the audit store could not record the decision; nothing was decided, retry later"
            ) from exc
        if stored[0].replayed:
            if [s.request_sha256 for s in stored] != [r.request_sha256 for r in records]:
                raise AuditConflict("Idempotency-Key was already used with a different request")
        else:
            self.metrics.count_decisions([r.outcome for r in stored])
        return stored

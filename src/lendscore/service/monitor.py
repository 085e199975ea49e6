"""The admins' monitoring page: drift and realised performance computed from the audit store.

Computed on request, **off the decision path**: with a database audit store the work runs in a
separate worker process at the lowest CPU priority (``nice 19``, and Linux's idle scheduling
class), which opens its own read
connection to the store and loads the model file itself, so pandas and matplotlib neither hold
the decision process's interpreter lock nor take CPU from it; with the in-memory store (tests)
it runs in a thread. One computation at a time (concurrent requests share it), never through
the audit writer, and the page is reused for ``cache_seconds``. It uses the monitoring
package (:func:`~lendscore.monitoring.drift`, :func:`~lendscore.monitoring.performance_by_vintage`,
:func:`~lendscore.monitoring.collect_alerts`) against the champion's stored training reference
(:func:`~lendscore.monitoring.reference_from_model`) and the report plots of
:mod:`lendscore.reports.monitoring`. New alerts are logged as structured events
(``event="monitoring_alert"``, by :func:`lendscore.monitoring.emit`), each once.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import pandas as pd

from lendscore.errors import LendscoreError

if TYPE_CHECKING:
    from lendscore.monitoring.drift import Period

__all__ = ["MonitoringPage"]

log = logging.getLogger("lendscore.service.monitoring")
_ALL = 2**62  # recent_decisions(limit): every decision of the store


class MonitoringPage:
    """Builds and caches the monitoring HTML for one engine and store."""

    def __init__(
        self,
        engine,
        store,
        *,
        clock: Callable[[], dt.datetime],
        period: Period = "M",
        cache_seconds: float = 5.0,
        outcome_counts: Callable[[], dict[str, int]] | None = None,
        source: dict[str, str] | None = None,
    ):
        self.engine, self.store, self.clock = engine, store, clock
        self.period, self.cache_seconds = period, cache_seconds
        self.outcome_counts = outcome_counts
        self.source = source  # {"audit_url", "model_path"}: compute in a worker process
        self._pool: Executor | None = None
        self._lock = threading.Lock()
        self._cached: tuple[float, str] | None = None
        self._running: Future | None = None
        self._alerted: set[tuple] = set()
        self.computations = 0

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    async def html(self) -> str:
        """The page: cached if fresh, else computed off the decision path (shared by concurrent callers)."""
        with self._lock:
            if self._cached is not None and time.monotonic() - self._cached[0] < self.cache_seconds:
                return self._cached[1]
            if self._running is None:
                self._running = self._submit()
            running = self._running
        return await asyncio.wrap_future(running)

    def _submit(self) -> Future:
        if self.source is None:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lendscore-monitoring")
            return self._pool.submit(self._finish, lambda: (self.render(), []))
        if self._pool is None:
            import multiprocessing

            self._pool = ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context("spawn"), initializer=_lowest_priority
            )
        work = self._pool.submit(
            _page_in_worker,
            self.source,
            self._info(),
            self.period,
            self.outcome_counts() if self.outcome_counts else {},
            sorted(self._alerted),
        )
        done: Future = Future()

        def relay(f: Future) -> None:
            try:
                done.set_result(self._finish(f.result))
            except BaseException as exc:
                done.set_exception(exc)

        work.add_done_callback(relay)
        return done

    def _finish(self, compute: Callable[[], tuple[str, list]]) -> str:
        try:
            page, alerts = compute()
            if alerts:
                from lendscore.monitoring import emit

                emit(alerts, source="lendscore-service")
                self._alerted.update((a.level, a.kind, a.subject, a.period) for a in alerts)
            with self._lock:
                self._cached = (time.monotonic(), page)
                self.computations += 1
            return page
        finally:
            with self._lock:
                self._running = None

    def _info(self) -> dict[str, Any]:
        eng = self.engine
        return {
            "champion": eng.model_version,
            "challenger": None if eng.challenger is None else eng.challenger.version,
            "policy": eng.policy.version,
            "computed at": self.clock().isoformat(timespec="seconds"),
        }

    # ------------------------------------------------------------------ compute -> render
    def context(self):
        """The :class:`~lendscore.reports.monitoring.MonitoringContext` of the store's current contents."""
        from lendscore.monitoring import audit_records_frame

        decisions = audit_records_frame(self.store.recent_decisions(_ALL))
        ctx, _ = build_context(
            self.engine.model,
            self._info(),
            decisions,
            self.store.outcomes_frame(),
            self.store.shadow_frame(),
            self.period,
            self.outcome_counts() if self.outcome_counts else {},
            self._alerted,
        )
        return ctx

    def render(self) -> str:
        return _render(self.context())


def _lowest_priority() -> None:
    """``nice 19``, and on Linux the idle scheduling class: the worker then runs only on CPU time
    that nothing else wants (nice 19 alone still gets a small share against busy processes)."""
    with contextlib.suppress(OSError):  # not permitted: the worker still runs, only at normal priority
        os.nice(19)
    if hasattr(os, "sched_setscheduler") and hasattr(os, "SCHED_IDLE"):
        with contextlib.suppress(OSError):
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))


def _render(ctx) -> str:
    from lendscore.reports.monitoring import render_monitoring_report

    t0 = time.perf_counter()
    page = render_monitoring_report(ctx)
    log.info("monitoring page computed", extra={"seconds": round(time.perf_counter() - t0, 3)})
    return page


def _page_in_worker(
    source: dict[str, str], info: dict[str, Any], period: Period, counts: dict[str, int], alerted: list[tuple]
) -> tuple[str, list]:
    """In the worker process: read the store and the model file, build and render the page.

    The decisions are read by the reader ``lendscore monitor`` uses (the application as stored:
    fields, finances, loan), on a read-only connection of the worker's own."""
    import lendscore
    from lendscore.monitoring import read_decisions
    from lendscore.service.audit import open_store

    store = open_store(source["audit_url"])
    start = getattr(store, "start", None)
    if start is not None:
        start()  # the schema is already at head: this only opens the connection pool
    try:
        model = lendscore.load(source["model_path"])
        decisions = read_decisions(source["audit_url"], model=model, kind="audit", outcomes_table=None).frame
        ctx, fresh = build_context(
            model,
            info,
            decisions,
            store.outcomes_frame(),
            store.shadow_frame(),
            period,
            counts,
            set(map(tuple, alerted)),
        )
    finally:
        close = getattr(store, "close", None)
        if close is not None:
            close()
    return _render(ctx), fresh


def build_context(
    model,
    info: dict[str, Any],
    decisions: pd.DataFrame,
    outcomes: pd.DataFrame,
    shadow: pd.DataFrame,
    period: Period,
    counts: dict[str, int],
    alerted: set[tuple],
):
    """(MonitoringContext, alerts not raised before) from the audit store.

    ``decisions`` is the store's monitoring frame as :func:`lendscore.monitoring.read_decisions`
    reads it (outputs, ``created_at``, the stored application as ``input.*``): the champion's own
    decisions are derived with its model file (:func:`~lendscore.monitoring.prepare_monitoring_frame`,
    each application dated by its decision) so the CSI covers every characteristic, and their
    input warnings are counted per period."""
    from lendscore.monitoring import (
        collect_alerts,
        drift,
        performance_by_vintage,
        prepare_monitoring_frame,
        reference_from_model,
    )
    from lendscore.reports.monitoring import MonitoringContext

    info = {**info, "decisions": len(decisions), "outcomes": len(outcomes)}
    version = info["champion"]
    notes: list[str] = []
    drift_result = perf = None
    if len(decisions) == 0:
        notes.append("no decisions in the audit store yet")
    else:
        own = decisions[decisions["model_version"] == version].reset_index(drop=True)
        if len(own) < len(decisions):
            notes.append(
                f"drift uses the {len(own)} decisions of the champion {version}; "
                f"{len(decisions) - len(own)} were made by other models"
            )
        if len(own):
            try:
                prepared, warnings, _, prep_notes = prepare_monitoring_frame(own, model)
                drift_result = drift(prepared, model, reference_from_model(model), period=period, warnings=warnings)
                info["input warnings"] = len(warnings)
                notes += prep_notes
            except LendscoreError as exc:
                notes.append(f"drift not computed: {exc}")
        try:
            perf = performance_by_vintage(decisions, outcomes)
        except LendscoreError as exc:
            notes.append(f"realised performance not computed: {exc}")
    notes += _shadow_notes(decisions, shadow)
    latest = None
    if drift_result is not None and len(drift_result.score):
        latest = str(drift_result.score["period"].max())
    alerts = collect_alerts(drift_result, perf, period=latest)
    fresh = [a for a in alerts if (a.level, a.kind, a.subject, a.period) not in alerted]
    rejections = None
    if counts:
        refused = {k: v for k, v in counts.items() if k != "accepted"}
        rejections = {
            "n_received": sum(counts.values()),
            "n_accepted": counts.get("accepted", 0),
            "n_rejected": sum(refused.values()),
            "counts": refused,
        }
    ctx = MonitoringContext(
        title=f"lendscore monitoring: {version}",
        model_info=info,
        drift=drift_result,
        performance=perf,
        alerts=alerts,
        outcome_rejections=rejections,
        notes=notes,
    )
    return ctx, fresh


def _shadow_notes(decisions: pd.DataFrame, shadow: pd.DataFrame) -> list[str]:
    if len(shadow) == 0:
        return []
    champion = decisions[["decision_id", "grade", "score"]].rename(
        columns={"grade": "grade_champion", "score": "score_champion"}
    )
    joined = shadow.merge(champion, on="decision_id", how="left")
    out = []
    for version, g in joined.groupby("challenger_version", sort=True):
        differ = float((g["grade"] != g["grade_champion"]).mean())
        diff = float((g["score"] - g["score_champion"]).mean())
        out.append(
            f"shadow scoring by challenger {version}: {len(g)} decisions, {differ:.1%} with another "
            f"grade, mean score difference {diff:+.1f} points (never deciding)"
        )
    return out

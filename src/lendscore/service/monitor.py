"""The admins' monitoring page: drift and realised performance computed from the audit store.

Computed on request, **off the decision path**: the work runs in its own single-thread pool (one
computation at a time; concurrent requests share it), reads the store through its read methods
(never the audit writer), and the page is reused for ``cache_seconds``. It uses the monitoring
package (:func:`~lendscore.monitoring.drift`, :func:`~lendscore.monitoring.performance_by_vintage`,
:func:`~lendscore.monitoring.collect_alerts`) against the champion's stored training reference
(:func:`~lendscore.monitoring.reference_from_model`) and the report plots of
:mod:`lendscore.reports.monitoring`. New alerts are logged as structured events
(``event="monitoring_alert"``, by :func:`lendscore.monitoring.emit`), each once.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pandas as pd

from lendscore.errors import LendscoreError

__all__ = ["MonitoringPage"]

log = logging.getLogger("lendscore.service.monitoring")


class MonitoringPage:
    """Builds and caches the monitoring HTML for one engine and store."""

    def __init__(self, engine, store, *, clock: Callable[[], dt.datetime], period: str = "M",
                 cache_seconds: float = 5.0, outcome_counts: Callable[[], dict[str, int]] | None = None):
        self.engine, self.store, self.clock = engine, store, clock
        self.period, self.cache_seconds = period, cache_seconds
        self.outcome_counts = outcome_counts
        self._pool: ThreadPoolExecutor | None = None
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
        """The page: cached if fresh, else computed in the monitoring thread (shared by concurrent callers)."""
        with self._lock:
            if self._cached is not None and time.monotonic() - self._cached[0] < self.cache_seconds:
                return self._cached[1]
            if self._running is None:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lendscore-monitoring")
                self._running = self._pool.submit(self._compute)
            running = self._running
        return await asyncio.wrap_future(running)

    def _compute(self) -> str:
        try:
            page = self.render()
            with self._lock:
                self._cached = (time.monotonic(), page)
            return page
        finally:
            with self._lock:
                self._running = None

    # ------------------------------------------------------------------ compute -> render
    def context(self):
        """The :class:`~lendscore.reports.monitoring.MonitoringContext` of the store's current contents."""
        from lendscore.monitoring import collect_alerts, drift, emit, performance_by_vintage, reference_from_model
        from lendscore.reports.monitoring import MonitoringContext

        eng = self.engine
        decisions = self.store.decisions_frame()
        outcomes = self.store.outcomes_frame()
        shadow = self.store.shadow_frame()
        info: dict[str, Any] = {"champion": eng.model_version,
                                "challenger": None if eng.challenger is None else eng.challenger.version,
                                "policy": eng.policy.version, "decisions": len(decisions), "outcomes": len(outcomes),
                                "computed at": self.clock().isoformat(timespec="seconds")}
        notes: list[str] = []
        drift_result = perf = None
        if len(decisions) == 0:
            notes.append("no decisions in the audit store yet")
        else:
            own = decisions[decisions["model_version"] == eng.model_version]
            if len(own) < len(decisions):
                notes.append(f"drift uses the {len(own)} decisions of the champion {eng.model_version}; "
                             f"{len(decisions) - len(own)} were made by other models")
            if len(own):
                drift_result = drift(own, eng.model, reference_from_model(eng.model), period=self.period)
            try:
                perf = performance_by_vintage(decisions, outcomes)
            except LendscoreError as exc:
                notes.append(f"realised performance not computed: {exc}")
        notes += self._shadow_notes(decisions, shadow)
        latest = None
        if drift_result is not None and len(drift_result.score):
            latest = str(drift_result.score["period"].max())
        alerts = collect_alerts(drift_result, perf, period=latest)
        fresh = [a for a in alerts if (a.level, a.kind, a.subject, a.period) not in self._alerted]
        if fresh:
            emit(fresh, source="lendscore-service")
            self._alerted.update((a.level, a.kind, a.subject, a.period) for a in fresh)
        counts = self.outcome_counts() if self.outcome_counts else {}
        rejections = None
        if counts:
            refused = {k: v for k, v in counts.items() if k != "accepted"}
            rejections = {"n_received": sum(counts.values()), "n_accepted": counts.get("accepted", 0),
                          "n_rejected": sum(refused.values()), "counts": refused}
        return MonitoringContext(title=f"lendscore monitoring: {eng.model_version}", model_info=info,
                                 drift=drift_result, performance=perf, alerts=alerts,
                                 outcome_rejections=rejections, notes=notes)

    def render(self) -> str:
        from lendscore.reports.monitoring import render_monitoring_report

        t0 = time.perf_counter()
        page = render_monitoring_report(self.context())
        self.computations += 1
        log.info("monitoring page computed", extra={"seconds": round(time.perf_counter() - t0, 3)})
        return page

    def _shadow_notes(self, decisions: pd.DataFrame, shadow: pd.DataFrame) -> list[str]:
        if len(shadow) == 0:
            return []
        champion = decisions[["decision_id", "grade", "score"]].rename(
            columns={"grade": "grade_champion", "score": "score_champion"})
        joined = shadow.merge(champion, on="decision_id", how="left")
        out = []
        for version, g in joined.groupby("challenger_version", sort=True):
            differ = float((g["grade"] != g["grade_champion"]).mean())
            diff = float((g["score"] - g["score_champion"]).mean())
            out.append(f"shadow scoring by challenger {version}: {len(g)} decisions, {differ:.1%} with another "
                       f"grade, mean score difference {diff:+.1f} points (never deciding)")
        return out

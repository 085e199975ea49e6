"""Prometheus text exposition (format 0.0.4), written by hand: counters, one histogram, gauges."""

from __future__ import annotations

import bisect
import threading
from collections import defaultdict
from collections.abc import Callable

__all__ = ["Metrics", "CONTENT_TYPE"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


def _esc(v: str) -> str:
    return str(v).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(**kv: str) -> str:
    return "{" + ",".join(f'{k}="{_esc(v)}"' for k, v in kv.items()) + "}"


class Metrics:
    """Thread-safe request and decision metrics; :meth:`render` gives the exposition text."""

    def __init__(self, info: dict[str, str]):
        self._lock = threading.Lock()
        self._info = info
        self._requests: dict[tuple[str, str, str], int] = defaultdict(int)
        self._hist: dict[str, list[int]] = {}  # counts per bucket of BUCKETS, then +Inf
        self._sum: dict[str, float] = defaultdict(float)
        self._count: dict[str, int] = defaultdict(int)
        self._decisions: dict[str, int] = defaultdict(int)
        self._outcomes: dict[str, int] = defaultdict(int)  # "accepted" and each rejection reason
        self.gauges: dict[str, tuple[str, Callable[[], float]]] = {}

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        with self._lock:
            self._requests[(method, route, str(status))] += 1
            h = self._hist.setdefault(route, [0] * (len(BUCKETS) + 1))
            h[bisect.bisect_left(BUCKETS, seconds)] += 1
            self._sum[route] += seconds
            self._count[route] += 1

    def count_decisions(self, outcomes: list[str]) -> None:
        with self._lock:
            for o in outcomes:
                self._decisions[o] += 1

    def count_outcomes(self, accepted: int, rejected: dict[str, int]) -> None:
        """Outcomes stored and refused (by reason)."""
        with self._lock:
            self._outcomes["accepted"] += int(accepted)
            for reason, n in rejected.items():
                if n:
                    self._outcomes[reason] += int(n)

    def outcome_counts(self) -> dict[str, int]:
        """``{"accepted": n, <reason>: n, ...}`` since the service started."""
        with self._lock:
            return dict(self._outcomes)

    def render(self) -> str:
        with self._lock:
            lines = [
                "# HELP lendscore_info Active model and policy.",
                "# TYPE lendscore_info gauge",
                f"lendscore_info{_labels(**self._info)} 1",
                "# HELP lendscore_http_requests_total HTTP requests by method, route and status.",
                "# TYPE lendscore_http_requests_total counter",
            ]
            for (m, r, s), n in sorted(self._requests.items()):
                lines.append(f"lendscore_http_requests_total{_labels(method=m, route=r, status=s)} {n}")
            lines += [
                "# HELP lendscore_http_request_duration_seconds Request latency by route.",
                "# TYPE lendscore_http_request_duration_seconds histogram",
            ]
            for route, h in sorted(self._hist.items()):
                cum = 0
                for le, n in zip([*map(str, BUCKETS), "+Inf"], h, strict=True):
                    cum += n
                    lines.append(f"lendscore_http_request_duration_seconds_bucket{_labels(route=route, le=le)} {cum}")
                lines.append(f"lendscore_http_request_duration_seconds_sum{_labels(route=route)} {self._sum[route]}")
                lines.append(
                    f"lendscore_http_request_duration_seconds_count{_labels(route=route)} {self._count[route]}"
                )
            lines += [
                "# HELP lendscore_decisions_total Decisions made, by outcome.",
                "# TYPE lendscore_decisions_total counter",
            ]
            for o, n in sorted(self._decisions.items()):
                lines.append(f"lendscore_decisions_total{_labels(outcome=o)} {n}")
            lines += [
                "# HELP lendscore_outcomes_total Reported outcomes: accepted, or refused by reason.",
                "# TYPE lendscore_outcomes_total counter",
            ]
            for o, n in sorted(self._outcomes.items()):
                lines.append(f"lendscore_outcomes_total{_labels(result=o)} {n}")
        for name, (help_, fn) in sorted(self.gauges.items()):
            lines += [f"# HELP {name} {help_}", f"# TYPE {name} gauge", f"{name} {float(fn())}"]
        return "\n".join(lines) + "\n"

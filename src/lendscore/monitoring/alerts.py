"""Alerts from drift and performance: log events and an optional JSON webhook.

:func:`collect_alerts` turns the drift and performance tables into :class:`Alert` objects;
:func:`emit` logs each one on the ``lendscore.monitoring`` logger (level WARNING for ``warning``,
ERROR for ``critical``) and, when a webhook URL is given, POSTs them as one JSON document with
``urllib`` (stdlib) and a timeout. Delivery problems are logged and returned, never raised: an
alert must not crash the caller.

Rules (thresholds are parameters):

- score PSI or a characteristic's CSI >= 0.25 (significant) -> critical; >= 0.10 -> warning;
  the chi-square p-value is attached so a reader can tell a real shift from noise;
- an input's missing rate moving by more than ``missing_shift`` (absolute) with p < ``alpha``;
- an input's out-of-range rate above ``out_of_range_rate``;
- a matured vintage whose AUC is below ``min_auc``;
- a grade whose observed default rate fails the exact binomial test (p < ``alpha``).
"""

from __future__ import annotations

import json
import logging
import math
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from typing import Any

from lendscore.monitoring.drift import PSI_MODERATE, PSI_SIGNIFICANT

__all__ = ["Alert", "collect_alerts", "emit", "post_webhook"]

log = logging.getLogger("lendscore.monitoring")


@dataclass(frozen=True)
class Alert:
    """One alert: ``level`` (``warning`` | ``critical``), ``kind``, what it is about and the numbers."""

    level: str
    kind: str
    subject: str
    period: str | None
    value: float | None
    threshold: float | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        if isinstance(d["value"], float) and not math.isfinite(d["value"]):
            d["value"] = str(d["value"])
        return d


def _stability_alerts(frame, kind: str, name_col: str | None, only_period) -> list[Alert]:
    out: list[Alert] = []
    if frame is None or len(frame) == 0:
        return out
    for r in frame.itertuples(index=False):
        if only_period is not None and r.period != only_period:
            continue
        if not r.psi >= PSI_MODERATE:
            continue
        level = "critical" if r.psi >= PSI_SIGNIFICANT else "warning"
        subject = getattr(r, name_col) if name_col else "score"
        out.append(
            Alert(
                level,
                kind,
                subject,
                r.period,
                float(r.psi),
                PSI_SIGNIFICANT if level == "critical" else PSI_MODERATE,
                f"{kind.upper()} of {subject} in {r.period} is {r.psi:.3f} ({r.flag}; n={r.n}, "
                f"chi-square p={r.p_value:.3g})",
            )
        )
    return out


def collect_alerts(
    drift=None,
    performance=None,
    *,
    period: str | None = None,
    missing_shift: float = 0.05,
    out_of_range_rate: float = 0.01,
    min_auc: float = 0.60,
    alpha: float = 0.05,
) -> list[Alert]:
    """Alerts from a :class:`~lendscore.monitoring.drift.DriftResult` and a
    :class:`~lendscore.monitoring.performance.PerformanceResult` (either may be None).
    ``period`` restricts drift alerts to one period (e.g. the latest)."""
    alerts: list[Alert] = []
    if drift is not None:
        alerts += _stability_alerts(drift.score, "psi", None, period)
        alerts += _stability_alerts(drift.characteristics, "csi", "characteristic", period)
        for r in drift.inputs.itertuples(index=False) if len(drift.inputs) else []:
            if period is not None and r.period != period:
                continue
            if abs(r.missing_shift) > missing_shift and r.missing_p_value < alpha:
                alerts.append(
                    Alert(
                        "warning",
                        "missing_rate",
                        r.input,
                        r.period,
                        float(r.missing_rate),
                        missing_shift,
                        f"missing rate of {r.input} in {r.period} is "
                        f"{r.missing_rate:.1%} against {r.train_missing_rate:.1%} in training "
                        f"(binomial p={r.missing_p_value:.3g})",
                    )
                )
            if r.out_of_range_rate == r.out_of_range_rate and r.out_of_range_rate > out_of_range_rate:
                alerts.append(
                    Alert(
                        "warning",
                        "out_of_range",
                        r.input,
                        r.period,
                        float(r.out_of_range_rate),
                        out_of_range_rate,
                        f"{r.out_of_range_rate:.1%} of {r.input} values in "
                        f"{r.period} are out of range ({r.range_check})",
                    )
                )
    if performance is not None:
        v = performance.vintages
        for r in v[v["matured"]].itertuples(index=False):
            if r.auc == r.auc and r.auc < min_auc:
                alerts.append(
                    Alert(
                        "critical",
                        "auc",
                        "model",
                        r.vintage,
                        float(r.auc),
                        min_auc,
                        f"AUC of vintage {r.vintage} is {r.auc:.3f} (< {min_auc}); n outcomes {r.n_outcome}",
                    )
                )
        for r in performance.calibration.itertuples(index=False):
            if r.binomial_p_value < alpha:
                alerts.append(
                    Alert(
                        "warning",
                        "calibration",
                        str(r.group),
                        None,
                        float(r.observed_rate),
                        float(r.predicted_pd),
                        f"grade {r.group}: observed default rate "
                        f"{r.observed_rate:.2%} vs predicted {r.predicted_pd:.2%} (n={r.n}, exact "
                        f"binomial p={r.binomial_p_value:.3g})",
                    )
                )
    return alerts


def post_webhook(url: str, payload: dict[str, Any], *, timeout: float = 5.0) -> dict[str, Any]:
    """POST ``payload`` as JSON; returns ``{"ok", "status", "error"}`` and never raises."""
    if not url.lower().startswith(("http://", "https://")):
        return {"ok": False, "status": None, "error": f"webhook URL must be http(s); got {url!r}"}
    data = json.dumps(payload, default=str).encode("utf-8")
    req = urllib.request.Request(
        url, data=data, method="POST", headers={"Content-Type": "application/json", "User-Agent": "lendscore-alerts"}
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # scheme checked above
            status = resp.status
        return {"ok": 200 <= status < 300, "status": status, "error": None}
    except urllib.error.HTTPError as exc:
        return {"ok": False, "status": exc.code, "error": f"HTTP {exc.code} {exc.reason}"}
    except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
        return {"ok": False, "status": None, "error": f"{type(exc).__name__}: {exc}"}


def emit(
    alerts: list[Alert], *, webhook_url: str | None = None, timeout: float = 5.0, source: str = "lendscore"
) -> dict[str, Any]:
    """Log every alert and optionally POST them to ``webhook_url``; returns the delivery status."""
    for a in alerts:
        log.log(
            logging.ERROR if a.level == "critical" else logging.WARNING,
            "%s",
            a.message,
            extra={"event": "monitoring_alert", "alert": a.to_dict()},
        )
    result: dict[str, Any] = {"n_alerts": len(alerts), "webhook": None}
    if webhook_url and alerts:
        payload = {"source": source, "n_alerts": len(alerts), "alerts": [a.to_dict() for a in alerts]}
        try:
            sent = post_webhook(webhook_url, payload, timeout=timeout)
        except Exception as exc:  # an alert must never crash the caller
            sent = {"ok": False, "status": None, "error": f"{type(exc).__name__}: {exc}"}
        if not sent["ok"]:
            log.warning(
                "alert webhook failed: %s", sent["error"] or sent["status"], extra={"event": "alert_webhook_failed"}
            )
        result["webhook"] = sent
    return result

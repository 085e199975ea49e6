"""Alerts from drift and performance: log events and an optional JSON webhook.

:func:`collect_alerts` turns the drift and performance tables into :class:`Alert` objects;
:func:`emit` logs each one on the ``lendscore.monitoring`` logger (level INFO for ``info``, WARNING
for ``warning``, ERROR for ``critical``) and, when a webhook URL is given, POSTs them as one JSON
document with ``urllib`` (stdlib) and a timeout. Delivery problems are logged and returned, never
raised: an alert must not crash the caller.

Drift alerts follow the statistics (thresholds and ``alpha``, 0.05 by default, are parameters).
A drift check raises an alert when its threshold is crossed: score PSI or a characteristic's CSI
>= 0.10, an input's missing rate moving by more than ``missing_shift`` (absolute), an input's
out-of-range rate above ``out_of_range_rate``. Its level then depends on the period's size ``n`` and
on the sample-size-aware test that :mod:`lendscore.monitoring.drift` computes beside the threshold
(chi-square goodness of fit for PSI/CSI, exact binomial for the missing rate):

- ``n`` < :data:`MIN_ROWS_FOR_ALERT` -> ``info``, "insufficient data (n=...)", whatever the numbers;
- the test rejects stability (p < ``alpha``) -> ``critical`` for PSI/CSI >= 0.25, ``warning`` for
  PSI/CSI >= 0.10 and for a missing-rate shift;
- the test does not reject (p >= ``alpha``) or cannot be computed -> ``warning``, saying "not
  significant at n=..." (or why there is no test): crossing a threshold is never critical alone;
- the out-of-range rate has no test (training holds no out-of-range values by construction): at
  most ``warning``.

A column missing in every row of a period is reported as such ("<input> is missing in every row of
<period> (n=...)", kind ``missing_rate``) with the exact binomial test of its training missing rate
(``critical`` for a scored characteristic when it rejects, ``warning`` otherwise), in place of the
CSI alert of that characteristic and period, whose chi-square test may not exist (every row falls
in the Missing bin, which may have had no training rows). No alert text ever prints a NaN.

Performance alerts: a matured vintage whose AUC is below ``min_auc`` (critical); a grade whose
observed default rate fails the exact binomial test (p < ``alpha``; warning).
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

__all__ = ["MIN_ROWS_FOR_ALERT", "Alert", "collect_alerts", "emit", "post_webhook"]

log = logging.getLogger("lendscore.monitoring")

MIN_ROWS_FOR_ALERT = 100
"""Fewest rows a period needs for a drift alert to be more than ``info``.

The chi-square p-value of the PSI/CSI is an asymptotic approximation that holds when every bin
expects about 5 rows or more (Cochran's rule); bin ``i`` expects ``n * e_i`` rows. The score bins
are training deciles (``e_i`` = 0.10: 5 rows at n = 50) and a model's regular bins hold at least
``min_bin_size`` = 5 % of the training rows by default (5 rows at n = 100), so 100 is the smallest
period at which every regular bin of a default model expects 5 rows (the rarer Special and Missing
bins are the few small cells Cochran's rule tolerates). Below it the approximation is not to be
trusted (a period of 10 rows showed a CSI of 8.5 with a chi-square p of 0.52). The same figure holds for the
missing-rate and out-of-range alerts, so that a small period gets one verdict for all its checks
(their binomial test is exact, but below 100 rows a single row moves the rate by more than a point).
"""

_LOG_LEVELS = {"info": logging.INFO, "warning": logging.WARNING, "critical": logging.ERROR}


@dataclass(frozen=True)
class Alert:
    """One alert: ``level`` (``info`` | ``warning`` | ``critical``), ``kind``, what it is about and
    the numbers (``threshold`` is the threshold that was crossed)."""

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
            d["value"] = None if math.isnan(d["value"]) else str(d["value"])
        return d


def _finite(x: Any) -> bool:
    try:
        return x is not None and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def _insufficient(n: int) -> str:
    return f"insufficient data (n={n}; a test needs at least {MIN_ROWS_FOR_ALERT} rows)"


def _verdict(n: int, p: Any, alpha: float, top: str, test: str, untestable: str) -> tuple[str, str]:
    """(level, reason) of a drift check whose threshold is crossed: ``top`` only when the period
    holds enough rows and ``test`` rejects stability at ``alpha``; ``untestable`` says why there is
    no p-value when there is none."""
    if n < MIN_ROWS_FOR_ALERT:
        return "info", _insufficient(n)
    if not _finite(p):
        return "warning", f"no {test} test at n={n} ({untestable})"
    if p < alpha:
        return top, f"significant at n={n} ({test} p={p:.3g} < alpha {alpha:g})"
    return "warning", f"not significant at n={n} ({test} p={p:.3g} >= alpha {alpha:g})"


def _stability_alerts(frame, kind: str, name_col: str | None, only_period, alpha: float, skip) -> list[Alert]:
    out: list[Alert] = []
    if frame is None or len(frame) == 0:
        return out
    for r in frame.itertuples(index=False):
        if only_period is not None and r.period != only_period:
            continue
        if not r.psi >= PSI_MODERATE:  # NaN (no rows) never alerts
            continue
        subject = str(getattr(r, name_col)) if name_col else "score"
        if (subject, r.period) in skip:
            continue
        threshold = PSI_SIGNIFICANT if r.psi >= PSI_SIGNIFICANT else PSI_MODERATE
        n, n_new = int(r.n), int(r.n_new_bin)
        untestable = (
            "every row falls in bins with no training rows" if n_new >= n else "fewer than two bins with training rows"
        )
        level, why = _verdict(
            n, r.p_value, alpha, "critical" if threshold == PSI_SIGNIFICANT else "warning", "chi-square", untestable
        )
        new = f"; {n_new} rows fall in bins with no training rows" if 0 < n_new < n else ""
        out.append(
            Alert(
                level,
                kind,
                subject,
                r.period,
                float(r.psi),
                threshold,
                f"{kind.upper()} of {subject} in {r.period} is {r.psi:.3f} (>= {threshold:g}): {why}{new}",
            )
        )
    return out


def _input_alerts(
    inputs, scored: set[str], only_period, missing_shift: float, out_of_range_rate: float, alpha: float
) -> tuple[list[Alert], set[tuple[str, str]]]:
    """Missing-rate and out-of-range alerts, and the (input, period) pairs reported as missing in
    every row (their CSI alert is left out: this one says what happened)."""
    out: list[Alert] = []
    all_missing: set[tuple[str, str]] = set()
    if inputs is None or len(inputs) == 0:
        return out, all_missing
    for r in inputs.itertuples(index=False):
        if only_period is not None and r.period != only_period:
            continue
        n, name = int(r.n), str(r.input)
        base = float(r.train_missing_rate)
        crossed = _finite(r.missing_shift) and abs(r.missing_shift) > missing_shift
        if n > 0 and int(r.n_missing) == n and (crossed or not _finite(base)):
            all_missing.add((name, r.period))
            if _finite(base):
                against = f"against {base:.1%} in training"
                untestable = "no binomial test"
            else:
                against = "the reference holds no training missing rate"
                untestable = "no training missing rate to test against"
            level, why = _verdict(
                n, r.missing_p_value, alpha, "critical" if name in scored else "warning", "binomial", untestable
            )
            out.append(
                Alert(
                    level,
                    "missing_rate",
                    name,
                    r.period,
                    1.0,
                    missing_shift,
                    f"{name} is missing in every row of {r.period} (n={n}), {against}: {why}",
                )
            )
        elif crossed:
            level, why = _verdict(n, r.missing_p_value, alpha, "warning", "binomial", "no binomial test")
            out.append(
                Alert(
                    level,
                    "missing_rate",
                    name,
                    r.period,
                    float(r.missing_rate),
                    missing_shift,
                    f"missing rate of {name} in {r.period} is {r.missing_rate:.1%} against {base:.1%} in "
                    f"training (shift beyond {missing_shift:.0%}): {why}",
                )
            )
        if _finite(r.out_of_range_rate) and r.out_of_range_rate > out_of_range_rate:
            # no test: training holds no out-of-range value by construction, so at most a warning
            if n < MIN_ROWS_FOR_ALERT:
                level, why = "info", _insufficient(n)
            else:
                level, why = "warning", f"{int(round(r.n_out_of_range))} of n={n} rows"
            out.append(
                Alert(
                    level,
                    "out_of_range",
                    name,
                    r.period,
                    float(r.out_of_range_rate),
                    out_of_range_rate,
                    f"{r.out_of_range_rate:.1%} of {name} values in {r.period} are out of range "
                    f"({r.range_check}; above {out_of_range_rate:.0%}): {why}",
                )
            )
    return out, all_missing


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
    ``period`` restricts drift alerts to one period (e.g. the latest). ``alpha`` is the level of
    every test (chi-square of the PSI/CSI, binomial of the missing rate and of the calibration);
    the rules are in the module docstring."""
    alerts: list[Alert] = []
    if drift is not None:
        chars = drift.characteristics
        scored = set(chars["characteristic"].astype(str)) if len(chars) else set()
        inputs, all_missing = _input_alerts(drift.inputs, scored, period, missing_shift, out_of_range_rate, alpha)
        alerts += _stability_alerts(drift.score, "psi", None, period, alpha, set())
        alerts += _stability_alerts(chars, "csi", "characteristic", period, alpha, all_missing)
        alerts += inputs
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
            _LOG_LEVELS.get(a.level, logging.WARNING),
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

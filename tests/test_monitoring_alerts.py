"""Alert levels follow the statistics: a drift alert is critical only when its threshold is crossed
AND the sample-size-aware test rejects stability at ``alpha``; crossing alone is a warning saying
"not significant at n=..."; a period below ``MIN_ROWS_FOR_ALERT`` rows gives "insufficient data"
at level info; a column missing in every row of a period is reported as such; no alert text prints
a NaN (table-driven cases on hand-built drift tables, then a drift run on the bundled Lending Club
data with a period of 10 rows and a blanked column)."""

from __future__ import annotations

import json
import logging
import math

import numpy as np
import pandas as pd
import pytest

from lendscore.monitoring import DriftResult, MonitoringReference, build_reference, collect_alerts, drift, emit
from lendscore.monitoring.alerts import MIN_ROWS_FOR_ALERT, Alert

NAN = float("nan")
P = "2024-02"


def _stability(kind: str, psi: float, n: int, p: float, n_new_bin: int = 0, subject: str = "x1") -> pd.DataFrame:
    row = {"period": P, "n": n, "psi": psi, "flag": "", "smoothed": False, "chi2": 1.0, "df": 4, "p_value": p}
    row["n_new_bin"] = n_new_bin
    if kind == "csi":
        row = {"period": P, "characteristic": subject, **{k: v for k, v in row.items() if k != "period"}}
    return pd.DataFrame([row])


def _input(
    name: str = "x1",
    *,
    n: int = 500,
    n_missing: int = 0,
    base: float = 0.0,
    p: float = 1.0,
    oor_rate: float = 0.0,
) -> dict:
    rate = n_missing / n
    return {
        "period": P,
        "input": name,
        "n": n,
        "n_missing": n_missing,
        "missing_rate": rate,
        "train_missing_rate": base,
        "missing_shift": rate - base,
        "missing_p_value": p,
        "n_out_of_range": oor_rate * n if oor_rate == oor_rate else NAN,
        "out_of_range_rate": oor_rate,
        "range_check": "outside training range [0, 1]",
    }


def _drift(score=None, characteristics=None, inputs=None) -> DriftResult:
    empty = pd.DataFrame(
        columns=["period", "characteristic", "n", "psi", "flag", "smoothed", "chi2", "df", "p_value", "n_new_bin"]
    )
    return DriftResult(
        period="M",
        score=score if score is not None else pd.DataFrame(),
        characteristics=characteristics if characteristics is not None else empty,
        bins=pd.DataFrame(),
        inputs=pd.DataFrame(inputs or []),
        reference=MonitoringReference(characteristics={}, missing_rate={}),
    )


def _no_nan(alerts: list[Alert]) -> None:
    for a in alerts:
        assert "nan" not in a.message.lower(), a.message
    assert "nan" not in json.dumps([a.to_dict() for a in alerts]).lower()


def test_minimum_is_declared_with_its_reason():
    from pathlib import Path

    import lendscore.monitoring.alerts as mod

    source = Path(mod.__file__).read_text(encoding="utf-8")
    assert MIN_ROWS_FOR_ALERT == 100 and 'MIN_ROWS_FOR_ALERT = 100\n"""' in source and "Cochran" in source


# ---------------------------------------------------------------- score PSI and CSI
N = MIN_ROWS_FOR_ALERT
STABILITY = [
    # kind, psi, n, p, n_new_bin, alpha, level (None: no alert), texts the message must hold
    ("csi", 0.40, 500, 1e-6, 0, 0.05, "critical", ["CSI of x1 in 2024-02 is 0.400 (>= 0.25)", "significant at n=500"]),
    ("psi", 0.40, 500, 1e-6, 0, 0.05, "critical", ["PSI of score in 2024-02", "chi-square p=1e-06 < alpha 0.05"]),
    ("csi", 0.40, 500, 0.30, 0, 0.05, "warning", ["not significant at n=500", "chi-square p=0.3 >= alpha 0.05"]),
    ("psi", 0.40, 500, 0.30, 0, 0.05, "warning", ["not significant at n=500"]),
    ("csi", 0.40, 500, 0.02, 0, 0.01, "warning", ["not significant at n=500", "p=0.02 >= alpha 0.01"]),
    ("csi", 0.15, 500, 1e-6, 0, 0.05, "warning", ["(>= 0.1): significant at n=500"]),
    ("csi", 0.15, 500, 0.40, 0, 0.05, "warning", ["(>= 0.1): not significant at n=500"]),
    # the alert seen in production: n=10, p=0.522 was "critical"
    ("csi", 8.527, 10, 0.522, 0, 0.05, "info", ["is 8.527", "insufficient data (n=10;"]),
    ("csi", 0.40, N - 1, 1e-9, 0, 0.05, "info", [f"insufficient data (n={N - 1};"]),
    ("psi", 0.40, N - 1, 1e-9, 0, 0.05, "info", [f"insufficient data (n={N - 1};"]),
    ("csi", 0.40, N, 1e-9, 0, 0.05, "critical", [f"significant at n={N}"]),
    ("csi", 0.40, 10, NAN, 10, 0.05, "info", ["insufficient data (n=10;"]),
    # no p-value: every row in bins with no training rows -> a warning saying why, never critical
    ("csi", 0.40, 500, NAN, 500, 0.05, "warning", ["no chi-square test at n=500", "bins with no training rows"]),
    ("csi", 0.40, 500, 1e-6, 7, 0.05, "critical", ["7 rows fall in bins with no training rows"]),
    ("csi", math.inf, 500, 1e-6, 0, 0.05, "critical", ["is inf (>= 0.25)"]),
    ("csi", 0.05, 500, 1e-9, 0, 0.05, None, []),
    ("csi", NAN, 0, NAN, 0, 0.05, None, []),
]


@pytest.mark.parametrize(("kind", "psi", "n", "p", "n_new", "alpha", "level", "texts"), STABILITY)
def test_stability_levels(kind, psi, n, p, n_new, alpha, level, texts):
    frame = _stability(kind, psi, n, p, n_new)
    d = _drift(score=frame) if kind == "psi" else _drift(characteristics=frame)
    alerts = collect_alerts(d, alpha=alpha)
    _no_nan(alerts)
    if level is None:
        assert alerts == []
        return
    (a,) = alerts
    assert (a.level, a.kind, a.period) == (level, kind, P), a.message
    assert a.threshold == (0.25 if psi >= 0.25 else 0.10)
    for t in texts:
        assert t in a.message, a.message


# ---------------------------------------------------------------- missing rate and out of range
MISSING = [
    # input row, scored characteristic?, level (None: no alert), texts
    (
        _input(n_missing=100, base=0.05, p=1e-9),
        True,
        "warning",
        ["missing rate of x1 in 2024-02 is 20.0%", "significant"],
    ),
    (_input(n_missing=60, base=0.05, p=0.20), True, "warning", ["not significant at n=500", "binomial p=0.2"]),
    (_input(n=50, n_missing=10, base=0.05, p=1e-3), True, "info", ["insufficient data (n=50;"]),
    (_input(n_missing=30, base=0.05, p=0.9), True, None, []),  # shift 0.01: below the threshold
    (_input(n_missing=400, base=NAN, p=NAN), True, None, []),  # no training rate, not all missing
    # a column missing in every row
    (_input(n_missing=500, base=0.0, p=0.0), True, "critical", ["x1 is missing in every row of 2024-02 (n=500)"]),
    (_input(n_missing=500, base=0.0, p=0.0), False, "warning", ["x1 is missing in every row of 2024-02 (n=500)"]),
    (
        _input(n=10, n_missing=10, base=0.0, p=0.0),
        True,
        "info",
        ["missing in every row of 2024-02 (n=10)", "insufficient"],
    ),
    (_input(n_missing=500, base=NAN, p=NAN), True, "warning", ["(n=500)", "no training missing rate to test against"]),
    (_input(n_missing=500, base=0.97, p=1e-9), True, None, []),  # normal for this column
    # out of range: no test, so at most a warning
    (_input(oor_rate=0.05), True, "warning", ["5.0% of x1 values in 2024-02 are out of range", "25 of n=500 rows"]),
    (_input(n=20, oor_rate=0.05), True, "info", ["out of range", "insufficient data (n=20;"]),
    (_input(oor_rate=0.005), True, None, []),
    (_input(oor_rate=NAN), True, None, []),
]


@pytest.mark.parametrize(("row", "scored", "level", "texts"), MISSING)
def test_input_levels(row, scored, level, texts):
    chars = _stability("csi", 0.05, row["n"], 0.5) if scored else None
    alerts = collect_alerts(_drift(characteristics=chars, inputs=[row]))
    _no_nan(alerts)
    if level is None:
        assert alerts == []
        return
    (a,) = alerts
    assert a.level == level and a.subject == "x1" and a.period == P, a.message
    for t in texts:
        assert t in a.message, a.message


def test_all_missing_replaces_the_csi_alert():
    """The CSI of a blanked characteristic (with no p-value when its Missing bin had no training
    rows) is not reported beside the missing message; other characteristics keep theirs."""
    chars = pd.concat(
        [_stability("csi", 11.99, 500, NAN, 500, "x1"), _stability("csi", 0.40, 500, 1e-6, 0, "x2")], ignore_index=True
    )
    inputs = [_input("x1", n_missing=500, base=0.0, p=0.0), _input("x2")]
    alerts = collect_alerts(_drift(characteristics=chars, inputs=inputs))
    _no_nan(alerts)
    assert [(a.level, a.kind, a.subject) for a in alerts] == [
        ("critical", "csi", "x2"),
        ("critical", "missing_rate", "x1"),
    ]


def test_period_filter_and_log_levels(caplog):
    score = pd.concat(
        [
            _stability("psi", 0.40, 500, 1e-6).assign(period="2024-01"),
            _stability("psi", 0.40, 10, 0.5),
        ],
        ignore_index=True,
    )
    inputs = [
        _input(n=10, n_missing=10, base=0.0, p=0.0),
        {**_input(n_missing=100, base=0.05, p=1e-9), "period": "2024-01"},
    ]
    d = _drift(score=score, inputs=inputs)
    assert {a.period for a in collect_alerts(d, period=P)} == {P}
    alerts = collect_alerts(d)
    assert sorted(a.level for a in alerts) == ["critical", "info", "info", "warning"]
    with caplog.at_level(logging.INFO, logger="lendscore.monitoring"):
        emit(alerts)
    levels = {r.alert["level"]: r.levelno for r in caplog.records if getattr(r, "event", None) == "monitoring_alert"}
    assert levels == {"info": logging.INFO, "warning": logging.WARNING, "critical": logging.ERROR}


# ---------------------------------------------------------------- the bundled Lending Club data
@pytest.fixture(scope="module")
def lc_drift(lending_club, lc_model):
    """The 2011 applications month by month, plus a period of 10 rows (2026-12) with ``term``
    blanked, and ``term`` blanked in every row of 2011-12 too (a twelfth of the 2011 rows)."""
    lc = lending_club
    apps = lc.X_test.copy()
    months = pd.date_range("2011-01-01", periods=12, freq="MS") + pd.Timedelta(days=4)
    apps["created_at"] = months[np.arange(len(apps)) * 12 // len(apps)]
    small = lc.X_test.iloc[:10].assign(created_at=pd.Timestamp("2026-12-05"))
    frame = pd.concat([apps, small], ignore_index=True)
    frame["term"] = frame["term"].astype(float)
    frame.loc[frame["created_at"] >= pd.Timestamp("2011-12-01"), "term"] = np.nan
    frame = frame.rename(columns={"grade": "input.grade"})  # a decision column: logged as input.<name>
    return drift(frame, lc_model, build_reference(lc_model, lc.X_train))


def test_lending_club_small_period_and_blank_column(lc_drift):
    d = lc_drift
    csi = d.characteristics.set_index(["period", "characteristic"])
    assert csi.loc[("2026-12", "term"), "n"] == 10
    assert math.isnan(csi.loc[("2026-12", "term"), "p_value"])  # no training row in term's Missing bin
    alerts = collect_alerts(d)
    _no_nan(alerts)
    small = [a for a in alerts if a.period == "2026-12"]
    assert small and all(a.level == "info" and "insufficient data (n=10;" in a.message for a in small)
    assert "term is missing in every row of 2026-12 (n=10)" in {a.message.split(",")[0] for a in small}
    assert not any(a.kind == "csi" and a.subject == "term" and a.period in ("2026-12", "2011-12") for a in alerts)
    n_dec = int(csi.loc[("2011-12", "term"), "n"])
    (blank,) = [a for a in alerts if a.subject == "term" and a.period == "2011-12"]
    assert blank.level == "critical" and blank.kind == "missing_rate"
    assert blank.message.startswith(f"term is missing in every row of 2011-12 (n={n_dec})")
    # every critical alert crossed its threshold and was significant on enough rows
    crit = [a for a in alerts if a.level == "critical"]
    assert crit and all(" significant at n=" in a.message for a in crit)
    assert all(int(a.message.split("significant at n=")[1].split(" ")[0]) >= MIN_ROWS_FOR_ALERT for a in crit)
    latest = collect_alerts(d, period="2026-12")
    assert latest == small

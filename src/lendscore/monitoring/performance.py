"""Realised performance of logged decisions, by vintage (the month of the decision).

A vintage is *matured* at ``as_of`` when ``maturity_months`` have passed since its last day: only
then are its discrimination and calibration meaningful (early outcomes over-represent early
defaults). Immature vintages still show their volumes, decision rates and outcome coverage.

Per vintage: decisions, approval / refer / decline rates, outcomes received (coverage), observed
default (bad) rate overall and among approved loans, mean predicted PD, and when matured with both
classes present: ROC AUC and KS (:mod:`lendscore.validation`). Calibration by grade uses
:func:`lendscore.validation.calibration_by_group` (exact binomial test per grade).

Event = default = bad = 1. Metrics use the PD logged with each decision, so the figures are those
of the model that made the decision.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from lendscore.errors import ConfigError, SchemaError
from lendscore.monitoring.drift import period_labels
from lendscore.validation import calibration_by_group, ks_statistic, roc_auc

__all__ = ["PerformanceResult", "join_outcomes", "performance_by_vintage", "calibration_by_grade"]

_DECISION_COLS = ("decision_id", "created_at", "pd", "grade")
_OUTCOME = "outcome"  # approve / refer / decline: optional (a file of scored applications has none)


@dataclass
class PerformanceResult:
    """``vintages``: one row per vintage; ``calibration``: by grade over the matured vintages."""

    as_of: pd.Timestamp
    maturity_months: int
    vintages: pd.DataFrame
    calibration: pd.DataFrame
    notes: list[str] = field(default_factory=list)


def join_outcomes(decisions: pd.DataFrame, outcomes: pd.DataFrame, *, as_of=None) -> pd.DataFrame:
    """Decisions with their ``defaulted`` (NaN when no outcome is known at ``as_of``).

    ``outcomes`` should be accepted rows of :func:`~lendscore.monitoring.outcomes.validate_outcomes`.
    Outcomes dated after ``as_of`` are not yet known and are left out.
    """
    missing = [c for c in _DECISION_COLS if c not in decisions.columns]
    if missing:
        raise SchemaError(f"decisions must have columns {list(_DECISION_COLS)}; missing {missing}", column=missing[0])
    o = outcomes[["decision_id", "defaulted", "outcome_date"]].copy()
    o["decision_id"] = o["decision_id"].astype(str)
    if as_of is not None:
        when = pd.to_datetime(o["outcome_date"], utc=True)
        o = o[when <= _ts(as_of)]
    o = o.drop_duplicates("decision_id", keep="first")
    d = decisions.copy()
    d["_key"] = d["decision_id"].astype(str)
    flag = pd.Series(o["defaulted"].to_numpy(dtype=float), index=o["decision_id"].to_numpy())
    d["defaulted"] = flag.reindex(d["_key"].to_numpy()).to_numpy()
    return d.drop(columns="_key")


def _ts(value) -> pd.Timestamp:
    t = pd.Timestamp(value)
    return t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")


def performance_by_vintage(
    decisions: pd.DataFrame,
    outcomes: pd.DataFrame,
    *,
    as_of=None,
    maturity_months: int = 12,
    min_rows: int = 30,
) -> PerformanceResult:
    """Realised performance per vintage (see the module docstring).

    ``as_of`` defaults to the latest decision or outcome date. ``min_rows`` is the least number of
    outcomes a matured vintage needs for AUC and KS.

    Columns of ``vintages``: ``vintage, n, approval_rate, refer_rate, decline_rate, n_outcome,
    coverage, n_event, bad_rate, bad_rate_approved, mean_pd, matured, auc, ks``.
    """
    if int(maturity_months) != maturity_months or maturity_months < 0:
        raise ConfigError(f"maturity_months must be an integer >= 0; got {maturity_months!r}")
    if as_of is None:
        last = [pd.to_datetime(decisions["created_at"], utc=True).max()]
        if len(outcomes):
            last.append(pd.to_datetime(outcomes["outcome_date"], utc=True).max())
        as_of = max(last)
    as_of = _ts(as_of)
    missing = [c for c in _DECISION_COLS if c not in decisions.columns]
    if missing:
        raise SchemaError(f"decisions must have columns {list(_DECISION_COLS)}; missing {missing}", column=missing[0])
    has_outcome = _OUTCOME in decisions.columns
    d = join_outcomes(decisions[list(_DECISION_COLS) + ([_OUTCOME] if has_outcome else [])], outcomes, as_of=as_of)
    d["vintage"] = period_labels(d["created_at"], "M").to_numpy()
    if has_outcome:
        outcome = d[_OUTCOME].astype(str).str.lower()
        d["_approve"] = (outcome == "approve").to_numpy(dtype=float)
        d["_refer"] = (outcome == "refer").to_numpy(dtype=float)
        d["_decline"] = (outcome == "decline").to_numpy(dtype=float)
    else:  # no decision outcome: rates unknown, approved-only bad rate unknown
        d["_approve"] = d["_refer"] = d["_decline"] = np.nan
    d["_has"] = d["defaulted"].notna().to_numpy(dtype=float)
    d["_bad_appr"] = np.where(d["_approve"] == 1, d["defaulted"], np.nan)
    g = d.groupby("vintage", sort=True)
    v = g.agg(
        n=("decision_id", "size"),
        approval_rate=("_approve", "mean"),
        refer_rate=("_refer", "mean"),
        decline_rate=("_decline", "mean"),
        n_outcome=("_has", "sum"),
        n_event=("defaulted", "sum"),
        bad_rate=("defaulted", "mean"),
        bad_rate_approved=("_bad_appr", "mean"),
        mean_pd=("pd", "mean"),
    ).reset_index()
    v["n_outcome"] = v["n_outcome"].astype(np.int64)
    v["n_event"] = v["n_event"].astype(np.int64)
    v["coverage"] = v["n_outcome"] / v["n"]
    ends = pd.PeriodIndex(v["vintage"], freq="M").to_timestamp(how="end").tz_localize("UTC")
    matured_at = ends + pd.DateOffset(months=int(maturity_months))
    v["matured"] = np.asarray(matured_at <= as_of)
    auc, ks = [], []
    for vintage, matured in zip(v["vintage"], v["matured"], strict=True):
        rows = d[(d["vintage"] == vintage) & d["defaulted"].notna()]
        y = rows["defaulted"].to_numpy(dtype=np.int8)
        if matured and len(rows) >= min_rows and 0 < y.sum() < len(y):
            p = rows["pd"].to_numpy(dtype=float)
            auc.append(roc_auc(y, p))
            ks.append(ks_statistic(y, p).statistic)
        else:
            auc.append(np.nan)
            ks.append(np.nan)
    v["auc"] = auc
    v["ks"] = ks
    cols = [
        "vintage",
        "n",
        "approval_rate",
        "refer_rate",
        "decline_rate",
        "n_outcome",
        "coverage",
        "n_event",
        "bad_rate",
        "bad_rate_approved",
        "mean_pd",
        "matured",
        "auc",
        "ks",
    ]
    matured_rows = d[d["vintage"].isin(v.loc[v["matured"], "vintage"]) & d["defaulted"].notna()]
    notes = [] if has_outcome else ["no decision outcome column: approval, refer and decline rates not available"]
    if matured_rows.empty:
        notes.append(f"no matured vintage with outcomes at {as_of:%Y-%m-%d} (maturity {maturity_months} months)")
        calib = pd.DataFrame(
            columns=["group", "n", "n_event", "predicted_pd", "observed_rate", "binomial_p_value", "flag"]
        )
    else:
        calib = calibration_by_grade(matured_rows)
    return PerformanceResult(
        as_of=as_of, maturity_months=int(maturity_months), vintages=v[cols], calibration=calib, notes=notes
    )


def calibration_by_grade(rows: pd.DataFrame, *, alpha: float = 0.05) -> pd.DataFrame:
    """Predicted PD against observed default rate by grade (``pd``, ``grade``, ``defaulted`` columns)."""
    rows = rows[rows["defaulted"].notna()]
    grades = rows["grade"].astype(str)
    order = sorted(grades.unique())
    return calibration_by_group(
        rows["defaulted"].to_numpy(dtype=np.int8),
        rows["pd"].to_numpy(dtype=float),
        pd.Categorical(grades, categories=order, ordered=True),
        alpha=alpha,
    )

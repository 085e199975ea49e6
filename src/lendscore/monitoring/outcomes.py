"""Validation of reported loan outcomes before they are stored (used by the service and the CLI).

An outcome says whether a decided loan defaulted (event = default = 1). A batch of outcomes is
checked against the logged decisions and, optionally, the outcomes already stored. Each refused
row gets one reason (the first rule it breaks, in this order):

``missing_field``    decision_id, defaulted or outcome_date is empty
``bad_defaulted``    defaulted is not 0/1 (true/false)
``bad_date``         outcome_date (or reported_at) cannot be read as a date
``unknown_decision`` no logged decision has this decision_id
``duplicate``        the decision already has a stored outcome, or an earlier row of this batch
                     gave one (the first row is kept)
``before_decision``  the outcome is dated before the decision (compared by calendar day in UTC,
                     so an outcome dated the day of the decision is accepted)

The function is pure: it never writes anything and never raises on bad rows, only on a batch
without the required columns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from lendscore.errors import SchemaError

__all__ = ["REASONS", "OutcomeRejections", "validate_outcomes"]

REQUIRED = ("decision_id", "defaulted", "outcome_date")
REASONS = ("missing_field", "bad_defaulted", "bad_date", "unknown_decision", "duplicate", "before_decision")
_TRUE = {"1", "1.0", "true", "yes"}
_FALSE = {"0", "0.0", "false", "no"}


@dataclass
class OutcomeRejections:
    """What was refused and why.

    ``counts`` has one entry per reason in :data:`REASONS` (zeros included); ``rows`` lists the
    refused rows as ``row`` (position in the batch), ``decision_id``, ``reason``, ``detail``.
    """

    n_received: int
    n_accepted: int
    counts: dict[str, int]
    rows: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["row", "decision_id", "reason", "detail"]))

    @property
    def n_rejected(self) -> int:
        return self.n_received - self.n_accepted

    def to_dict(self, max_rows: int = 50) -> dict[str, Any]:
        """JSON-ready summary with at most ``max_rows`` refused rows."""
        rows = self.rows.head(max_rows).astype(object).where(self.rows.head(max_rows).notna(), None)
        return {
            "n_received": self.n_received,
            "n_accepted": self.n_accepted,
            "n_rejected": self.n_rejected,
            "counts": dict(self.counts),
            "rejected": rows.to_dict(orient="records"),
        }


def _utc(values: pd.Series) -> pd.Series:
    """Timestamps in UTC; naive values are taken as UTC; unreadable values become NaT."""
    if pd.api.types.is_datetime64_any_dtype(values):
        t = values
    else:
        t = pd.to_datetime(values.astype(object).where(values.notna(), None), utc=True, errors="coerce", format="mixed")
    if getattr(t.dt, "tz", None) is None:
        t = t.dt.tz_localize("UTC")
    return t.dt.tz_convert("UTC")


def _defaulted(values: pd.Series) -> pd.Series:
    """0/1 as Int64, <NA> when the value is not a recognised 0/1, true/false."""
    out = pd.Series(pd.NA, index=values.index, dtype="Int64")
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
        num = pd.to_numeric(values, errors="coerce").astype("Float64")
        out[num == 1] = 1
        out[num == 0] = 0
        return out
    text = values.astype("string").str.strip().str.lower()
    out[text.isin(_TRUE).fillna(False)] = 1
    out[text.isin(_FALSE).fillna(False)] = 0
    return out


def _ids(values: pd.Series) -> pd.Series:
    """Decision ids as text (object dtype), None when missing or blank."""
    text = values.astype("string").str.strip()
    text = text.where(text.notna() & (text != ""), None)
    return text.astype(object).where(text.notna(), None)


def validate_outcomes(
    outcomes: pd.DataFrame, decisions: pd.DataFrame, *, existing: pd.DataFrame | None = None
) -> tuple[pd.DataFrame, OutcomeRejections]:
    """Split a batch of outcomes into the accepted rows and a rejection report.

    Parameters
    ----------
    outcomes
        Columns ``decision_id``, ``defaulted`` (0/1), ``outcome_date``; ``reported_at`` optional.
    decisions
        Logged decisions, at least ``decision_id`` and ``created_at``.
    existing
        Outcomes already stored (``decision_id`` column); their decisions count as duplicates.

    Returns
    -------
    accepted, rejections
        ``accepted`` has ``decision_id, defaulted`` (int 0/1), ``outcome_date`` and ``reported_at``
        (UTC timestamps; ``reported_at`` is NaT when not given), in batch order.
    """
    missing_cols = [c for c in REQUIRED if c not in outcomes.columns]
    if missing_cols:
        raise SchemaError(
            f"outcomes must have columns {list(REQUIRED)}; missing {missing_cols}", column=missing_cols[0]
        )
    for c in ("decision_id", "created_at"):
        if c not in decisions.columns:
            raise SchemaError(f"decisions must have column {c!r}", column=c)
    n = len(outcomes)
    o = outcomes.reset_index(drop=True)
    reason = pd.Series(None, index=o.index, dtype=object)
    detail = pd.Series(None, index=o.index, dtype=object)

    def refuse(mask: pd.Series, why: str, text) -> None:
        m = mask.fillna(False).astype(bool) & reason.isna()
        reason[m] = why
        detail[m] = text(m) if callable(text) else text

    ids = _ids(o["decision_id"])
    refuse(
        ids.isna() | o["defaulted"].isna() | o["outcome_date"].isna(),
        "missing_field",
        "decision_id, defaulted and outcome_date are required",
    )
    flag = _defaulted(o["defaulted"])
    refuse(flag.isna(), "bad_defaulted", lambda m: "defaulted must be 0 or 1; got " + o.loc[m, "defaulted"].astype(str))
    when = _utc(o["outcome_date"])
    reported = (
        _utc(o["reported_at"])
        if "reported_at" in o.columns
        else pd.Series(pd.NaT, index=o.index, dtype="datetime64[ns, UTC]")
    )
    bad_reported = reported.isna() & o["reported_at"].notna() if "reported_at" in o.columns else reported.isna() & False
    refuse(
        when.isna() | bad_reported,
        "bad_date",
        lambda m: "outcome_date / reported_at is not a date: " + o.loc[m, "outcome_date"].astype(str),
    )
    known = _utc(decisions["created_at"].reset_index(drop=True)).set_axis(
        pd.Index(_ids(decisions["decision_id"]).to_numpy())
    )
    known = known[~known.index.duplicated(keep="first")]
    refuse(~ids.isin(known.index), "unknown_decision", lambda m: "no decision " + ids[m].astype(str))
    stored = (
        set() if existing is None or "decision_id" not in existing.columns else set(existing["decision_id"].astype(str))
    )
    refuse(ids.isin(stored), "duplicate", "an outcome is already stored for this decision")
    live = reason.isna()
    dup_in_batch = live & ids.where(live).duplicated(keep="first") & ids.notna()
    refuse(dup_in_batch, "duplicate", "an earlier row of this batch gives an outcome for this decision")
    decided = known.reindex(ids.where(reason.isna()).to_numpy()).set_axis(o.index)
    before = when.dt.floor("D") < decided.dt.floor("D")
    refuse(
        before & reason.isna(),
        "before_decision",
        lambda m: (
            "outcome_date "
            + when[m].dt.strftime("%Y-%m-%d")
            + " is before the decision of "
            + decided[m].dt.strftime("%Y-%m-%d")
        ),
    )
    ok = reason.isna()
    accepted = pd.DataFrame(
        {
            "decision_id": ids[ok].to_numpy(dtype=object),
            "defaulted": flag[ok].to_numpy(dtype=np.int64),
            "outcome_date": when[ok].reset_index(drop=True),
            "reported_at": reported[ok].reset_index(drop=True),
        }
    )
    counts = {r: int((reason == r).sum()) for r in REASONS}
    rows = pd.DataFrame(
        {
            "row": o.index[~ok].to_numpy(),
            "decision_id": ids[~ok].to_numpy(dtype=object),
            "reason": reason[~ok].to_numpy(dtype=object),
            "detail": detail[~ok].to_numpy(dtype=object),
        }
    )
    return accepted, OutcomeRejections(n_received=n, n_accepted=int(ok.sum()), counts=counts, rows=rows)

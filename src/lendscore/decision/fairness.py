"""Fairness report, run outside the model: protected attributes are never model inputs.

Given scores, observed outcomes (event = default = bad = 1) and a group label per applicant, at an
approve cut-off (approve when ``score >= cutoff``):

- ``approval_rate`` and ``default_rate`` per group;
- ``air``: adverse impact ratio, the group's approval rate over the reference group's (by default
  the group with the highest approval rate). ``four_fifths`` is True when ``air >= 0.8`` (the
  EEOC four-fifths screen: a ratio below 0.8 flags possible disparate impact for review);
- ``smd``: standardised mean score difference, ``(mean_g - mean_ref) / pooled sd``;
- calibration within groups: mean PD vs observed default rate per group and per PD bin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from lendscore.errors import PolicyError

__all__ = ["FairnessReport", "fairness_report", "german_credit_groups"]

FOUR_FIFTHS = 0.8

_GERMAN_SEX = {"A91": "male", "A92": "female", "A93": "male", "A94": "male", "A95": "female"}
_GERMAN_STATUS = {
    "A91": "male: divorced/separated",
    "A92": "female: divorced/separated/married",
    "A93": "male: single",
    "A94": "male: married/widowed",
    "A95": "female: single",
}


@dataclass(frozen=True)
class FairnessReport:
    """Per-group rates and screens (``by_group``) and within-group calibration (``calibration``)."""

    attribute: str
    cutoff: float
    reference: str
    by_group: pd.DataFrame
    calibration: pd.DataFrame | None

    @property
    def flagged(self) -> list[str]:
        """Groups whose adverse impact ratio is below four fifths."""
        return [str(g) for g in self.by_group.index[~self.by_group["four_fifths"]]]


def fairness_report(
    score: Any,
    y: Any,
    group: Any,
    *,
    cutoff: float,
    pds: Any = None,
    reference: str | None = None,
    attribute: str = "group",
    n_bins: int = 5,
) -> FairnessReport:
    """Approval and default rates, AIR, SMD and (when ``pds`` (PDs) is given) calibration, by group."""
    frame = pd.DataFrame(
        {
            "score": np.asarray(score, dtype=float),
            "y": np.asarray(y, dtype=float),
            "group": pd.Series(np.asarray(group, dtype=object)).astype(str).to_numpy(),
        }
    )
    if frame["score"].isna().any():
        raise PolicyError("fairness_report: score has NaN values")
    if not frame["y"].isin([0.0, 1.0]).all():
        raise PolicyError("fairness_report: y must be 0 (good) / 1 (bad, event)")
    if pds is not None:
        frame["pd"] = np.asarray(pds, dtype=float)
    frame["approved"] = frame["score"] >= cutoff
    g = frame.groupby("group", sort=True)
    out = pd.DataFrame(
        {
            "n": g.size(),
            "n_event": g["y"].sum().astype(int),
            "n_approved": g["approved"].sum().astype(int),
            "approval_rate": g["approved"].mean(),
            "default_rate": g["y"].mean(),
            "default_rate_approved": frame[frame["approved"]].groupby("group")["y"].mean(),
            "mean_score": g["score"].mean(),
            "sd_score": g["score"].std(ddof=1),
        }
    )
    if reference is None:
        reference = str(out["approval_rate"].idxmax())
    elif reference not in out.index:
        raise PolicyError(f"fairness_report: reference group {reference!r} not among {list(out.index)}")
    ref = out.loc[reference]
    ref_rate = ref["approval_rate"]
    out["air"] = out["approval_rate"] / ref_rate if ref_rate > 0 else np.nan
    out["four_fifths"] = out["air"] >= FOUR_FIFTHS
    pooled = np.sqrt(
        ((out["n"] - 1) * out["sd_score"] ** 2 + (ref["n"] - 1) * ref["sd_score"] ** 2) / (out["n"] + ref["n"] - 2)
    )
    out["smd"] = (out["mean_score"] - ref["mean_score"]) / pooled
    calibration = None
    if pds is not None:
        out["mean_pd"] = g["pd"].mean()
        out["calibration_gap"] = out["mean_pd"] - out["default_rate"]
        calibration = _calibration(frame, n_bins)
    out.index.name = attribute
    return FairnessReport(
        attribute=attribute, cutoff=float(cutoff), reference=reference, by_group=out, calibration=calibration
    )


def _calibration(frame: pd.DataFrame, n_bins: int) -> pd.DataFrame:
    rows = []
    for name, part in frame.groupby("group", sort=True):
        bins = pd.qcut(part["pd"].rank(method="first"), q=min(n_bins, len(part)), labels=False)
        for b, cell in part.groupby(bins, sort=True):
            rows.append(
                {
                    "group": name,
                    "bin": int(b),
                    "n": len(cell),
                    "mean_pd": cell["pd"].mean(),
                    "default_rate": cell["y"].mean(),
                }
            )
    return pd.DataFrame(rows)


def german_credit_groups(frame: pd.DataFrame) -> pd.DataFrame:
    """Protected attributes of the UCI German credit data: age band (<25, >=25), sex and status.

    Needs ``age_years`` and ``personal_status_and_sex`` (codes A91-A95, see german.doc).
    """
    for col in ("age_years", "personal_status_and_sex"):
        if col not in frame.columns:
            raise PolicyError(f"german_credit_groups: column {col!r} is missing")
    codes = frame["personal_status_and_sex"].astype(str)
    unknown = sorted(set(codes) - set(_GERMAN_SEX))
    if unknown:
        raise PolicyError(f"german_credit_groups: personal_status_and_sex has unknown codes {unknown}")
    return pd.DataFrame(
        {
            "age_band": np.where(frame["age_years"].to_numpy() < 25, "<25", ">=25"),
            "sex": codes.map(_GERMAN_SEX).to_numpy(),
            "personal_status": codes.map(_GERMAN_STATUS).to_numpy(),
        },
        index=frame.index,
    )

"""The validation pack's schema: what ``report.json`` holds, section by section (unknown keys refused).

The pack is the machine-readable twin of ``report.html``: every table of the HTML report is here
with its numbers unformatted. ``None`` stands for a value that is not defined (a rate over zero
rows, the open end of a score band, an interval not computed); it is never a silent 0.

Conventions: event = default = bad = 1; a higher score is safer; counts start with ``n_``; per-sample
sections carry the sample's name (``train``, ``test``) and the reference sample is the first one.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["PACK_SCHEMA_VERSION", "ValidationPack", "num"]

PACK_SCHEMA_VERSION = 1

Num = float | None
"""A number, or None where it is not defined."""


def num(value: Any) -> float | None:
    """``value`` as a float, or None when it is missing, NaN or infinite."""
    if value is None:
        return None
    x = float(value)
    return x if math.isfinite(x) else None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InfoItem(_Strict):
    key: str
    value: str


class Sample(_Strict):
    name: str
    role: Literal["reference", "validation"]
    window_start: str | None = None
    window_end: str | None = None
    n: int
    n_event: int
    n_nonevent: int
    event_rate: float


class QualityRule(_Strict):
    rule: str
    column: str | None
    action: str
    n_rows: int
    message: str


class DroppedColumn(_Strict):
    column: str
    reason: str


class DataQuality(_Strict):
    source: str | None
    rows_in: int
    rows_out: int
    n_dropped: int = Field(description="rows_in - rows_out")
    rules: list[QualityRule]
    dropped_columns: list[DroppedColumn]


class Discrimination(_Strict):
    sample: str
    n: int
    n_event: int
    auc: float
    auc_ci_low: Num = Field(description="95% bootstrap percentile interval; None when not computed")
    auc_ci_high: Num
    gini: float
    ks: float
    brier: float
    log_loss: float


class Confusion(_Strict):
    sample: str
    tn: int
    fp: int
    fn: int
    tp: int
    declined_share: float
    accuracy: Num
    precision: Num
    recall: Num
    f1: Num


class Classification(_Strict):
    threshold: float = Field(description="PD cut-off: PD >= threshold is predicted to default")
    threshold_rule: str
    score_equivalent: Num = Field(description="the score of a PD equal to the threshold")
    confusion: list[Confusion]


class GainsRow(_Strict):
    band: int
    score_min: Num = Field(description="None: open (the lowest band)")
    score_max: Num = Field(description="None: open (the highest band)")
    n: int
    n_event: int
    n_nonevent: int
    bad_rate: Num
    odds: Num = Field(description="goods per bad")
    cum_n_nonevent: int
    cum_n_event: int
    cum_share: float
    capture_rate: Num
    lift: Num
    cum_lift: Num
    breaks_rank_order: bool


class SampleGains(_Strict):
    sample: str
    n: int
    n_event: int
    rows: list[GainsRow]


class Gains(_Strict):
    basis: str
    score_edges: list[float] = Field(description="inner band edges, ascending")
    samples: list[SampleGains]


class RankBreak(_Strict):
    band: int
    bad_rate: float
    previous_band: int
    previous_bad_rate: float
    p_value: float = Field(description="one-sided Fisher exact test of the reversal")
    significant: bool


class RankOrdering(_Strict):
    sample: str
    n_bands: int
    holds: bool = Field(description="no band breaks the order")
    breaks: list[RankBreak]


class HosmerLemeshow(_Strict):
    statistic: float
    df: int
    p_value: float


class CalibrationRow(_Strict):
    grade: str
    n: int
    n_event: int
    predicted_pd: float
    observed_rate: float
    binomial_p_value: float
    miscalibrated: bool


class Calibration(_Strict):
    sample: str
    hosmer_lemeshow: HosmerLemeshow | None
    note: str | None = Field(description="why Hosmer-Lemeshow was not computed, if it was not")
    rows: list[CalibrationRow]


class Grade(_Strict):
    grade: str
    pd_min: float
    pd_max: float
    score_min: Num
    score_max: Num


class PSIStat(_Strict):
    sample: str
    psi: Num
    flag: str
    smoothed: bool
    n: int
    chi2: Num
    df: int
    p_value: Num
    n_new_bin: int


class ScoreBandShift(_Strict):
    band: int
    score_min: Num
    score_max: Num
    n_expected: int
    n_actual: int
    expected_share: float
    actual_share: float
    contribution: Num = Field(description="(actual - expected) * ln(actual / expected) on the shares used")


class ScoreStability(_Strict):
    stat: PSIStat
    bands: list[ScoreBandShift]


class CharacteristicStability(PSIStat):
    characteristic: str


class Stability(_Strict):
    reference: str
    score: list[ScoreStability]
    characteristics: list[CharacteristicStability]


class BinSample(_Strict):
    n: int
    n_event: int
    n_nonevent: int
    share: Num
    event_rate: Num
    woe: Num = Field(description="on this sample's counts; None when the bin is empty in it")
    iv: Num


class BinRow(_Strict):
    bin: str
    points: Num
    woe_model: Num = Field(description="the WoE the model scores with (training counts)")
    samples: dict[str, BinSample]
    csi_contribution: dict[str, Num] = Field(description="per validation sample, on the raw shares")


class Characteristic(_Strict):
    characteristic: str
    iv: dict[str, Num]
    csi: dict[str, Num] = Field(description="per validation sample, against the reference sample")
    csi_p_value: dict[str, Num]
    bins: list[BinRow]


class Coefficient(_Strict):
    term: str
    coef: float
    std_err: Num
    z: Num
    p_value: Num
    ci_low: Num
    ci_high: Num
    significant: bool | None = Field(description="p < 0.05; None without a p-value")
    expected_sign: Literal["negative"] | None = Field(description="None for the intercept and rules")
    sign_ok: bool | None
    penalised: bool


class SelectionRow(_Strict):
    feature: str
    iv: Num
    selected: bool
    reason: str


class Correlation(_Strict):
    basis: str
    n_rows: int
    characteristics: list[str]
    matrix: list[list[float]]


class VIFRow(_Strict):
    characteristic: str
    vif: Num
    max_abs_corr: Num
    most_correlated_with: str | None


class CutoffRow(_Strict):
    cutoff: float = Field(description="approve score >= cutoff")
    pd_equivalent: Num
    model_cutoff: bool = Field(description="the model's PD cut-off expressed as a score")
    n_approved: int
    approval_rate: float
    n_event_approved: int
    bad_rate: Num
    bads_declined_share: Num
    exposure_approved: float
    expected_loss: float = Field(description="LGD * sum(PD * exposure) over the approved")
    observed_loss: float = Field(description="LGD * sum(exposure of the approved bads)")


class SampleCutoffs(_Strict):
    sample: str
    rows: list[CutoffRow]


class CutoffStrategy(_Strict):
    lgd: float
    exposure: str
    basis: str
    samples: list[SampleCutoffs]


class Limitation(_Strict):
    topic: Literal["significance", "collinearity", "small_bins", "data", "rank_ordering", "stability", "calibration"]
    text: str


class ComparedModel(_Strict):
    label: str
    n: int
    n_event: int
    auc: float
    auc_ci_low: Num
    auc_ci_high: Num
    gini: float
    ks: float
    n_characteristics: int
    top_reasons: list[str] = Field(description="score reasons given most often to the non-approved applicants")


class Comparison(_Strict):
    sample: str
    models: list[ComparedModel] = Field(description="this model first, then the one it is compared with")
    gini_share: Num = Field(description="the second model's Gini / this model's Gini")
    text: str


class Rounding(_Strict):
    decimals: int = Field(description="points_rounding: the decimals every bin's points are rounded to")
    sample: str
    n: int
    max_abs_pd_diff: float = Field(description="largest |PD rounded - PD unrounded| (same fitted state)")
    median_abs_pd_diff: float
    n_grade_changed: int
    grade_changed_share: float
    text: str


class SegmentRow(_Strict):
    value: str
    n: int
    n_event: int
    too_small: bool = Field(description="under min_rows rows or without both classes: no metrics")
    auc: Num
    auc_ci_low: Num
    auc_ci_high: Num
    gini: Num
    ks: Num


class Segments(_Strict):
    column: str
    sample: str
    min_rows: int
    rows: list[SegmentRow]


class ValidationPack(_Strict):
    """Everything the validation report shows, as numbers."""

    schema_version: Literal[1]
    title: str
    lendscore_version: str
    model: list[InfoItem]
    reference_sample: str
    samples: list[Sample]
    data_quality: DataQuality | None
    discrimination: list[Discrimination]
    classification: Classification
    gains: Gains
    rank_ordering: list[RankOrdering]
    calibration: list[Calibration]
    master_scale: list[Grade]
    stability: Stability
    characteristics: list[Characteristic]
    coefficients: list[Coefficient]
    selection: list[SelectionRow]
    correlation: Correlation | None
    vif: list[VIFRow]
    cutoffs: CutoffStrategy
    limitations: list[Limitation]
    notes: list[str]
    comparison: Comparison | None = None
    rounding: Rounding | None = None
    segments: Segments | None = None

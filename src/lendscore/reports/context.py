"""What the validation report is computed from: one :class:`ReportContext` of model and samples.

:func:`lendscore.reports.from_training.training_report_context` builds it from a training run;
tests build small synthetic ones. The optional fields feed the sections that need more than
outcomes and scores (characteristic analysis, correlation and VIF, cut-off losses); without them
those sections fall back to what the model's tables hold, and say so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["BIN_COUNT_COLUMNS", "ComparedModel", "ReportContext", "RoundingCheck", "Segment", "SplitResult"]

#: Columns of :attr:`ReportContext.bin_counts` (``bin`` is the bin's position in the points table).
BIN_COUNT_COLUMNS = ["characteristic", "bin", "sample", "n_event", "n_nonevent"]


@dataclass
class SplitResult:
    """Outcome and model output on one sample (train, test, out-of-time ...).

    ``metrics`` is the :func:`lendscore.validation.evaluate` dict; when None it is computed at the
    report's cut-off when rendering. ``exposure`` (one amount per row, e.g. the loan amount) weighs
    the cut-off table's losses; without it every loan counts 1. ``window`` is the sample's
    ``{"start", "end"}`` dates, if known.
    """

    y: np.ndarray
    pd: np.ndarray
    score: np.ndarray
    grade: np.ndarray
    metrics: dict[str, Any] | None = None
    exposure: np.ndarray | None = None
    window: Mapping[str, str] | None = None


@dataclass
class ComparedModel:
    """One model of the side-by-side section: its label, the :func:`lendscore.validation.evaluate`
    dict on the compared sample, its number of characteristics and the score reasons given most
    often to its non-approved applicants."""

    label: str
    metrics: dict[str, Any]
    n_characteristics: int
    top_reasons: list[str] = field(default_factory=list)


@dataclass
class RoundingCheck:
    """The PD and grade of every row of one sample with the rounded points and with the same fitted
    state unrounded (``decimals``: the model's ``points_rounding``)."""

    decimals: int
    sample: str
    pd_rounded: np.ndarray
    pd_unrounded: np.ndarray
    grade_rounded: np.ndarray
    grade_unrounded: np.ndarray


@dataclass
class Segment:
    """The value of the segment column on every row of one sample (as text, aligned with its rows)."""

    column: str
    sample: str
    values: np.ndarray


@dataclass
class ReportContext:
    """Everything the validation report shows; see docs/validation_report.md for the sections.

    ``model_info`` holds name, version, created, training data fingerprint, n features and
    parameters (any other keys are shown too; ``parameters`` gives the selection limits
    ``iv_min, corr_max, vif_max`` the limitations quote). ``grades`` is the master scale, a list of
    dicts ``grade, pd_min, pd_max, score_min, score_max``. ``data_quality`` is optional:
    ``{"rows_in", "rows_out", "issues": [{"rule", "column", "action", "n_rows", "message"}],
    "dropped_columns": {column: reason}}`` (:meth:`lendscore.data.DataQualityReport.to_dict`;
    ``"rules"`` is read as a synonym of ``"issues"``).

    The first split is the reference (the training sample); stability is measured from it.

    Optional inputs of the deeper sections:

    - ``bin_counts``: events and non-events per bin of every characteristic in every sample
      (:data:`BIN_COUNT_COLUMNS`); without it only the reference sample's counts (the points
      table's) are shown and there is no CSI.
    - ``woe_design``: the WoE of the model's terms on the reference rows (one column per term), for
      the correlation and VIF tables.
    - ``score_edges``: inner edges of the score bands (default: deciles of the reference scores).
    - ``scaling``: ``(offset, factor)`` with ``score = offset - factor * ln(PD / (1 - PD))``, to
      show the PD cut-off as a score.
    - ``lgd`` and ``exposure_label``: the loss assumptions of the cut-off table.
    - ``data_limitations``: what the data lacks (e.g. factor groups without a field).
    - ``comparison``: this model and another side by side (this one first), with ``comparison_sample``.
    - ``rounding``: the PD movement that rounded points cause (:class:`RoundingCheck`).
    - ``segment``: the column to break discrimination down by, on one sample (:class:`Segment`).
    """

    title: str
    model_info: dict[str, Any]
    splits: dict[str, SplitResult]
    threshold: float
    threshold_rule: str
    coef_table: pd.DataFrame
    points_table: pd.DataFrame
    selection: pd.DataFrame
    grades: list[dict[str, Any]]
    data_quality: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    bin_counts: pd.DataFrame | None = None
    woe_design: pd.DataFrame | None = None
    score_edges: Sequence[float] | None = None
    scaling: tuple[float, float] | None = None
    lgd: float = 0.6
    exposure_label: str = "1 per loan"
    data_limitations: list[str] = field(default_factory=list)
    comparison: list[ComparedModel] | None = None
    comparison_sample: str = "test"
    rounding: RoundingCheck | None = None
    segment: Segment | None = None

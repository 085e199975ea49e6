"""Validation metrics of PD models: discrimination, classification at a cut-off, calibration.

Imports numpy, pandas, scikit-learn and scipy only (never matplotlib); plots live in
:mod:`lendscore.reports`.
"""

from __future__ import annotations

from lendscore.validation.calibration import HosmerLemeshowResult, calibration_by_group, hosmer_lemeshow
from lendscore.validation.metrics import (
    KSResult,
    auc_ci,
    brier,
    check_target_and_pd,
    choose_threshold,
    classification_at,
    confusion,
    evaluate,
    gini,
    ks_statistic,
    log_loss,
    roc_auc,
)

__all__ = [
    "HosmerLemeshowResult",
    "KSResult",
    "auc_ci",
    "brier",
    "calibration_by_group",
    "check_target_and_pd",
    "choose_threshold",
    "classification_at",
    "confusion",
    "evaluate",
    "gini",
    "hosmer_lemeshow",
    "ks_statistic",
    "log_loss",
    "roc_auc",
]

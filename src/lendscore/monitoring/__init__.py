"""Monitoring and model lifecycle: registry, drift, realised performance, retraining, alerts.

Everything here works on DataFrames shaped like the audit store's ``decisions_frame()`` (columns
``decision_id, request_id, created_at, model_version, policy_version, outcome, pd, score, grade``
plus the applicant's inputs) and ``outcomes_frame()`` (``decision_id, defaulted, reported_at,
outcome_date``), so it does not depend on the service. Imports numpy, pandas, scipy,
scikit-learn and pydantic only; the HTML report is :mod:`lendscore.reports.monitoring`.
"""
from __future__ import annotations

from lendscore.monitoring.alerts import Alert, collect_alerts, emit, post_webhook
from lendscore.monitoring.drift import (
    PSI_MODERATE,
    PSI_SIGNIFICANT,
    DriftResult,
    MonitoringReference,
    PSIResult,
    build_reference,
    drift,
    period_labels,
    psi,
    psi_flag,
    reference_from_model,
)
from lendscore.monitoring.outcomes import REASONS, OutcomeRejections, validate_outcomes
from lendscore.monitoring.performance import (
    PerformanceResult,
    calibration_by_grade,
    join_outcomes,
    performance_by_vintage,
)
from lendscore.monitoring.registry import STATES, Registry
from lendscore.monitoring.retrain import RetrainDecision, RetrainResult, RetrainRules, compare_models, retrain

__all__ = [
    "PSI_MODERATE",
    "PSI_SIGNIFICANT",
    "REASONS",
    "STATES",
    "Alert",
    "DriftResult",
    "MonitoringReference",
    "OutcomeRejections",
    "PSIResult",
    "PerformanceResult",
    "Registry",
    "RetrainDecision",
    "RetrainResult",
    "RetrainRules",
    "build_reference",
    "calibration_by_grade",
    "collect_alerts",
    "compare_models",
    "drift",
    "emit",
    "join_outcomes",
    "performance_by_vintage",
    "period_labels",
    "post_webhook",
    "psi",
    "psi_flag",
    "reference_from_model",
    "retrain",
    "validate_outcomes",
]

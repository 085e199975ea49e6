"""Monitoring and model lifecycle: registry, drift, realised performance, retraining, alerts.

Everything here works on one **monitoring frame** (columns ``decision_id, created_at,
model_version, outcome, pd, score, grade`` plus the application's fields as ``input.<name>``) and
outcomes (``decision_id, defaulted, reported_at, outcome_date``), so it does not depend on the
service. :func:`load_monitoring_data` reads that frame from any source monitoring watches (the
service's audit store as a SQLite file or a SQLAlchemy URL, a ``lendscore score`` output, a
``lendscore decide`` output, a raw file of applications) and derives and scores it with the model. Imports numpy, pandas, scipy,
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
from lendscore.monitoring.sources import (
    MonitoringData,
    RawDecisions,
    audit_records_frame,
    detect_kind,
    load_monitoring_data,
    prepare_monitoring_frame,
    read_decisions,
)

__all__ = [
    "PSI_MODERATE",
    "PSI_SIGNIFICANT",
    "REASONS",
    "STATES",
    "Alert",
    "DriftResult",
    "MonitoringData",
    "MonitoringReference",
    "RawDecisions",
    "OutcomeRejections",
    "PSIResult",
    "PerformanceResult",
    "Registry",
    "RetrainDecision",
    "RetrainResult",
    "RetrainRules",
    "audit_records_frame",
    "build_reference",
    "calibration_by_grade",
    "collect_alerts",
    "compare_models",
    "detect_kind",
    "drift",
    "emit",
    "join_outcomes",
    "load_monitoring_data",
    "performance_by_vintage",
    "period_labels",
    "post_webhook",
    "prepare_monitoring_frame",
    "psi",
    "psi_flag",
    "read_decisions",
    "reference_from_model",
    "retrain",
    "validate_outcomes",
]

"""Lending decisions: affordability (NTH), credit policy, principal reasons, cut-off and fairness.

The policy takes a score (or PD) and the applicant's finances, never a model object, so a policy
change needs no refit. ``plots`` (matplotlib) is not imported here.
"""

from __future__ import annotations

from lendscore.decision.affordability import (
    AffordabilityResult,
    AffordabilityRule,
    CounterOffer,
    Finances,
    LoanRequest,
    assess_affordability,
    instalment,
    max_principal,
)
from lendscore.decision.batch import decide_batch
from lendscore.decision.cutoff import (
    CutoffChoice,
    choose_cutoff,
    cutoff_reference_points,
    profit_table,
    write_cutoff,
)
from lendscore.decision.decide import Decision, Outcome, ScoredApplicant, decide, scored_from_details
from lendscore.decision.fairness import FairnessReport, fairness_report, german_credit_groups
from lendscore.decision.policy import Policy, line_of, load_policy, parse_policy
from lendscore.decision.reasons import Catalogue, ReasonCode, load_catalogue, principal_reasons

__all__ = [
    "AffordabilityResult",
    "AffordabilityRule",
    "Catalogue",
    "CounterOffer",
    "CutoffChoice",
    "Decision",
    "FairnessReport",
    "Finances",
    "LoanRequest",
    "Outcome",
    "Policy",
    "ReasonCode",
    "ScoredApplicant",
    "assess_affordability",
    "choose_cutoff",
    "cutoff_reference_points",
    "decide",
    "decide_batch",
    "fairness_report",
    "german_credit_groups",
    "instalment",
    "line_of",
    "load_catalogue",
    "load_policy",
    "max_principal",
    "parse_policy",
    "principal_reasons",
    "profit_table",
    "scored_from_details",
    "write_cutoff",
]

"""Decide many applicants at once: :func:`decide_batch`, the same answers as :func:`decide`.

``decide_batch(applicants, scored, policy, catalogue)[i] == decide(applicants[i], scored[i],
policy, catalogue).to_dict()`` for every row, float for float (a test checks it on thousands of
varied rows). The work is organised by column instead of by row: knock-out conditions are
evaluated field by field, affordability and the counter-offer with numpy
(:mod:`lendscore.decision._affordability_batch`), score bands with one comparison per band, and
principal reasons from one matrix of shortfalls sorted row-wise; only the declined and referred
rows get reasons built one by one.

A row the fast path cannot vouch for is decided by :func:`decide` itself (so errors are the same:
the first failing row, in row order, raises what ``decide`` raises for it): finances or loans that
are not plain dicts of plain numbers or that validation refuses, knock-out fields that cannot be
compared, scores outside the bands, points that are not finite, shortfalls within rounding of
each other, and the counter-offer's bisection case.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from lendscore.decision._affordability_batch import assess_batch
from lendscore.decision.affordability import AffordabilityRule
from lendscore.decision.decide import _MISSING, _OPS, ScoredApplicant, _lookup, _reference, decide
from lendscore.decision.policy import OUTCOME_RANK, KnockOut, Policy
from lendscore.decision.reasons import _TIE_DECIMALS, Catalogue, principal_reasons

__all__ = ["decide_batch"]

_NEAR_TIE = 1e-6
"""Shortfalls closer than this may round (to ``_TIE_DECIMALS`` places) to a tie broken by name."""
_RANK = OUTCOME_RANK


def decide_batch(
    applicants: Sequence[Mapping[str, Any]], scored: Sequence[ScoredApplicant], policy: Policy, catalogue: Catalogue
) -> list[dict[str, Any]]:
    """``decide(a, s, policy, catalogue).to_dict()`` for each pair of ``applicants`` and ``scored``.

    Raises the :class:`~lendscore.errors.PolicyError` (or arithmetic error) that :func:`decide`
    raises for the first row, in row order, that it refuses.
    """
    n = len(applicants)
    if len(scored) != n:
        raise ValueError(f"applicants and scored must have the same length; got {n} and {len(scored)}")
    try:
        plan = _Plan(policy, catalogue)
    except Exception:  # a policy code missing from the catalogue: decide() says which
        plan = None
    slow = [plan is None or type(a) is not dict for a in applicants]
    if plan is None or all(slow):
        return [decide(a, s, policy, catalogue).to_dict() for a, s in zip(applicants, scored, strict=True)]
    events: list[list | None] = [None] * n  # per row: the knock-outs that record a step, in order
    for k, ko in enumerate(policy.knockouts):
        if_missing = ko.if_missing
        for i, hit in enumerate(_knockout_column(ko, applicants, slow)):
            if hit or (hit is None and if_missing != "pass"):
                ev = events[i]
                if ev is None:
                    ev = events[i] = []
                ev.append(plan.kos[k][0] if hit else plan.kos[k][1])
    afford: list[Any] = [None] * n
    if policy.affordability is not None and "affordability" in policy.order:
        afford = _affordability_column(applicants, policy.affordability.rule(), slow)
    adverse: list[int] = []
    band_of = [0] * n
    if "bands" in policy.order:
        band_of = _band_column(scored, policy, slow)
        adverse = [i for i in range(n) if not slow[i] and plan.band_outcome[band_of[i]] != "approve"]
    principal = _principal_column(adverse, scored, policy, catalogue, slow)
    out = []
    for i in range(n):
        if slow[i]:
            out.append(decide(applicants[i], scored[i], policy, catalogue).to_dict())
        else:
            out.append(plan.assemble(scored[i], events[i], afford[i], band_of[i], principal.get(i)))
    return out


class _Plan:
    """What every row shares: stage names, outcomes and reason-code dicts, resolved once."""

    def __init__(self, policy: Policy, catalogue: Catalogue):
        self.policy = policy
        self.order = list(policy.order)
        self.stop = policy.stop_on_decline
        self.max_reasons = policy.reasons.max_reasons
        review = catalogue.get(policy.reasons.review_reason).to_dict()
        # per knock-out: (step, reason) when it hits, and when a field is missing
        self.kos = [
            (
                ((f"knockout:{ko.name}", ko.outcome), catalogue.get(ko.reason).to_dict()),
                ((f"knockout:{ko.name}", ko.if_missing), review),
            )
            for ko in policy.knockouts
        ]
        aff = policy.affordability
        self.aff = (
            None
            if aff is None
            else (
                aff.if_missing,
                catalogue.get(aff.reason_codes.missing).to_dict(),
                aff.outcome_on_fail,
                {rule: catalogue.get(code).to_dict() for rule, code in aff.codes().items()},
            )
        )
        self.band_outcome = [b.outcome for b in policy.bands]
        self.band_reason = [catalogue.get(b.reason).to_dict() if b.reason else None for b in policy.bands]

    def assemble(
        self, s: ScoredApplicant, ko_events: list | None, afford: dict | None, band: int, principal: list[dict] | None
    ) -> dict[str, Any]:
        """The decision dict of one row, following :func:`decide` stage by stage."""
        steps: list[tuple[str, str]] = []
        reasons: list[dict] = []
        result = None
        stop = self.stop
        declined = False  # whether any step so far declined (decide() asks any() after each stage)
        for stage in self.order:
            if stage == "knockouts":
                if ko_events is None:
                    steps.append(("knockouts", "approve"))
                else:  # a stage that records nothing cannot decline, so only these can stop it
                    for step, reason in ko_events:
                        steps.append(step)
                        reasons.append(reason)
                        if step[1] == "decline":
                            declined = True
                            if stop:
                                break
            elif stage == "affordability" and self.aff is not None:
                if_missing, missing, on_fail, codes = self.aff
                if afford is None:  # finances or loan missing (other rows went to decide())
                    if if_missing != "pass":
                        steps.append(("affordability", if_missing))
                        reasons.append(missing)
                        declined = declined or if_missing == "decline"
                else:
                    result = afford
                    if afford["passed"]:
                        steps.append(("affordability", "approve"))
                    else:
                        steps.append(("affordability", on_fail))
                        reasons.extend(codes[r] for r in afford["failed_rules"])
                        declined = declined or on_fail == "decline"
            elif stage == "bands":
                outcome = self.band_outcome[band]
                steps.append(("bands", outcome))
                declined = declined or outcome == "decline"
                if outcome != "approve":
                    band_reason = self.band_reason[band]
                    if band_reason is not None:
                        reasons.append(band_reason)
                    assert principal is not None  # _principal_column gave every adverse row not sent to decide()
                    reasons.extend(principal)
            if stop and declined:
                break
        final = "approve"
        for _, o in steps:
            if _RANK[o] > _RANK[final]:
                final = o
        unique: list[dict] = []
        if final != "approve":
            seen: set[str] = set()
            for r in reasons:
                if r["code"] not in seen:
                    seen.add(r["code"])
                    unique.append(dict(r))
                    if len(unique) == self.max_reasons:
                        break
        return {
            "outcome": final,
            "pd": float(s.pd),
            "score": float(s.score),
            "grade": s.grade,
            "affordability": result,
            "reasons": unique,
            "policy_version": self.policy.version,
            "model_version": s.model_version,
            "steps": [{"stage": st, "outcome": o} for st, o in steps],
        }


def _knockout_column(ko: KnockOut, applicants: Sequence[Mapping[str, Any]], slow: list[bool]) -> list[bool | None]:
    """Each row's ``_knockout_hits``: True, False, or None (a field missing); a row whose values
    cannot be compared goes to ``slow``."""
    n = len(applicants)
    state: list[bool | None] = [True] * n
    open_ = [i for i in range(n) if not slow[i]]
    for cond in ko.when:
        field, op, target = cond.field, cond.op, cond.value
        dotted = "." in field
        fn = _OPS.get(op)  # None for "in" and "not_in", which test membership of allowed
        allowed = target if isinstance(target, list) else [target]
        is_in = op == "in"
        still = []
        for i in open_:
            a = applicants[i]
            v = _lookup(a, field) if dotted else a.get(field, _MISSING)
            if v is None or (isinstance(v, float) and v != v):
                v = _MISSING
            if v is _MISSING:
                state[i] = None
                continue
            try:
                holds = bool(fn(v, target)) if fn is not None else (v in allowed) == is_in
            except Exception:  # decide() raises the PolicyError naming the field
                slow[i] = True
                continue
            if holds:
                still.append(i)
            else:
                state[i] = False
        open_ = still
    return state


def _affordability_column(
    applicants: Sequence[Mapping[str, Any]], rule: AffordabilityRule, slow: list[bool]
) -> list[Any]:
    """Each row's affordability dict, or None when finances or loan are missing."""
    n = len(applicants)
    out: list[Any] = [None] * n
    present = []
    for i in range(n):
        if slow[i]:
            continue
        fin, loan = _lookup(applicants[i], "finances"), _lookup(applicants[i], "loan")
        if fin is not _MISSING and loan is not _MISSING:
            present.append((i, fin, loan))
    results = assess_batch([p[1] for p in present], [p[2] for p in present], rule)
    for (i, _, _), res in zip(present, results, strict=True):
        if res is None:
            slow[i] = True
        out[i] = res
    return out


def _band_column(scored: Sequence[ScoredApplicant], policy: Policy, slow: list[bool]) -> list[int]:
    """Each row's band index (``Policy.band_for``); a value outside every band goes to ``slow``."""
    by_score = policy.basis == "score"
    values = [s.score if by_score else s.pd for s in scored]
    for i, v in enumerate(values):
        if type(v) is not float and (type(v) is not int or abs(v) > 2**53):
            slow[i], values[i] = True, math.nan
    x = np.array(values, dtype=float)
    band = np.full(len(x), -1)
    for k, b in enumerate(policy.bands):
        band[(band < 0) & (b.min <= x) & (x < b.max)] = k
    last = len(policy.bands) - 1
    band[(band < 0) & (x == policy.bands[last].max)] = last
    out = band.tolist()
    for i in np.flatnonzero(band < 0).tolist():
        slow[i], out[i] = True, 0
    return out


def _principal_column(
    rows: list[int], scored: Sequence[ScoredApplicant], policy: Policy, catalogue: Catalogue, slow: list[bool]
) -> dict[int, list[dict]]:
    """``principal_reasons`` (as dicts) of ``rows``: one shortfall matrix, sorted row-wise.

    Rows that share the first row's characteristics and reference go through the matrix; the
    others, and rows with non-finite or nearly tied shortfalls, call ``principal_reasons``.
    """
    out: dict[int, list[dict]] = {}
    if not rows:
        return out
    max_reasons = policy.reasons.max_reasons
    try:
        reference = _reference(scored[rows[0]], policy)
        names = sorted(scored[rows[0]].points)
        ref = np.array([float(reference[c]) for c in names], dtype=float)
    except Exception:  # each row on its own below
        reference, names = None, []
    key_set = set(names)
    matrix_rows, points, single = [], [], []
    for i in rows:
        s = scored[i]
        pts = s.points
        if (
            reference is not None
            and (policy.reasons.reference == "cutoff_average" or s.max_points is reference)
            and pts.keys() == key_set
        ):
            matrix_rows.append(i)
            points.append([pts[c] for c in names])
        else:
            single.append(i)
    if matrix_rows and names:
        try:
            gaps = ref - np.array(points, dtype=float)
        except Exception:
            single += matrix_rows
            matrix_rows = []
    elif matrix_rows:
        for i in matrix_rows:
            out[i] = []
        matrix_rows = []
    if matrix_rows:
        order = np.argsort(-gaps, axis=1, kind="stable")  # largest first; ties in name order
        ranked = np.take_along_axis(gaps, order, axis=1)
        with np.errstate(invalid="ignore"):
            step = ranked[:, :-1] - ranked[:, 1:]
            odd = ~np.isfinite(ranked).all(axis=1) | ((step > 0) & (step < _NEAR_TIE)).any(axis=1)
        code_for = catalogue.code_for
        for i, o_row, g_row, is_odd in zip(matrix_rows, order.tolist(), ranked.tolist(), odd.tolist(), strict=True):
            if is_odd:
                single.append(i)
                continue
            try:
                found: list[dict[str, Any]] = []
                seen: set[str] = set()
                for j, raw in zip(o_row, g_row, strict=True):
                    gap = round(raw, _TIE_DECIMALS)
                    if gap <= 0 or len(found) == max_reasons:
                        break
                    code = code_for(names[j])
                    if code.code in seen:
                        continue
                    seen.add(code.code)
                    found.append(
                        {
                            "code": code.code,
                            "text": code.text,
                            "kind": code.kind,
                            "characteristic": names[j],
                            "shortfall": gap,
                        }
                    )
                out[i] = found
            except Exception:  # decide() raises it for this row
                slow[i] = True
    for i in single:
        try:
            out[i] = [
                r.to_dict()
                for r in principal_reasons(scored[i].points, _reference(scored[i], policy), catalogue, max_reasons)
            ]
        except Exception:  # decide() raises it for this row
            slow[i] = True
    return out

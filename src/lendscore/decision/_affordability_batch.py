"""Affordability of many requests at once: :func:`assess_affordability` with numpy.

The formulas and their operation order are those of :mod:`lendscore.decision.affordability`, so
every number is the scalar one to the bit: numpy's ``+ - * /``, ``floor`` and comparisons are the
IEEE operations Python's floats use, and the transcendental parts (the annuity factor and the
counter-offer's term guess) are computed with :mod:`math` by the scalar module's own functions,
once per distinct (rate, term).

A row the fast path cannot vouch for comes back as ``None`` and the caller runs the scalar
function on it: finances or a loan that are not plain dicts of plain numbers, values the
validation models would refuse (the scalar path raises the error that names them), non-finite
intermediate numbers, and the counter-offer's rare bisection case.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from lendscore.decision.affordability import (
    MAX_AMOUNT,
    MAX_ANNUAL_RATE,
    MAX_TERM_MONTHS,
    AffordabilityRule,
    _min_term_guess,
    annuity_factor,
)

__all__ = ["assess_batch"]

_FIN_KEYS = frozenset(
    ("gross_income", "net_income", "deductions", "existing_obligations", "dependants", "employer_undertaking")
)
_LOAN_KEYS = frozenset(("amount", "annual_rate", "term_months"))
_EXACT_INT = 2**53
_NAN = math.nan


def _num(v: Any) -> bool:
    t = type(v)
    return t is float or (t is int and -_EXACT_INT <= v <= _EXACT_INT)


def _extract(fin: Any, loan: Any) -> tuple | None:
    """The plain values of one request, or None when only the validation models can judge it."""
    if type(fin) is not dict or type(loan) is not dict or not fin.keys() <= _FIN_KEYS or loan.keys() != _LOAN_KEYS:
        return None
    g, net, ded = fin.get("gross_income"), fin.get("net_income"), fin.get("deductions")
    ex, dep, und = (
        fin.get("existing_obligations", 0.0),
        fin.get("dependants", 0),
        fin.get("employer_undertaking", False),
    )
    a, r, t = loan["amount"], loan["annual_rate"], loan["term_months"]
    if not (
        _num(g)
        and _num(ex)
        and _num(a)
        and _num(r)
        and (net is None or _num(net))
        and (ded is None or _num(ded))
        and type(dep) is int
        and type(und) is bool
        and type(t) is int
    ):
        return None
    return (
        g,
        _NAN if net is None else net,
        net is not None,
        _NAN if ded is None else ded,
        ded is not None,
        ex,
        dep,
        und,
        a,
        r,
        t,
    )


def _valid(g, net, has_net, ded, has_ded, ex, dep, a, r, t) -> np.ndarray:
    """What the Finances and LoanRequest models accept (field bounds, finiteness, net/deductions <= gross)."""
    ok = np.isfinite(g) & (g > 0) & (g <= MAX_AMOUNT)
    ok &= ~has_net | (np.isfinite(net) & (net >= 0) & (net <= MAX_AMOUNT) & (net <= g))
    ok &= ~has_ded | (np.isfinite(ded) & (ded >= 0) & (ded <= MAX_AMOUNT) & (ded <= g))
    ok &= np.isfinite(ex) & (ex >= 0) & (ex <= MAX_AMOUNT) & (dep >= 0) & (dep <= 30)
    ok &= np.isfinite(a) & (a > 0) & (a <= MAX_AMOUNT) & np.isfinite(r) & (r >= 0) & (r <= MAX_ANNUAL_RATE)
    return ok & (t >= 1) & (t <= MAX_TERM_MONTHS)


class _Factors:
    """``annuity_factor(rate / 12, term)`` per row, computed once per distinct (rate, term)."""

    def __init__(self, rates: list[float]):
        self.rates = rates
        self.memo: dict[tuple[float, int], float] = {}

    def __call__(self, terms: list[int]) -> np.ndarray:
        memo, out = self.memo, []
        for rate, term in zip(self.rates, terms, strict=True):
            f = memo.get((rate, term))
            if f is None:
                r = rate / 12.0
                f = memo[(rate, term)] = annuity_factor(r, term) if r != 0.0 and term >= 1 else 1.0
            out.append(f)
        return np.array(out, dtype=float)


def assess_batch(finances: Sequence[Any], loans: Sequence[Any], rule: AffordabilityRule) -> list[dict | None]:
    """``assess_affordability(f, l, rule).to_dict()`` for each pair, or None where the scalar path must run."""
    n = len(finances)
    out: list[dict | None] = [None] * n
    rows = [(i, v) for i, v in enumerate(map(_extract, finances, loans)) if v is not None]
    if not rows:
        return out
    idx = [i for i, _ in rows]
    cols = list(zip(*(v for _, v in rows), strict=True))
    g, net, ded, ex, a, r = (np.array(cols[k], dtype=float) for k in (0, 1, 3, 5, 8, 9))
    has_net, has_ded, und = (np.array(cols[k], dtype=bool) for k in (2, 4, 7))
    dep, t = (np.array(cols[k], dtype=np.int64) for k in (6, 10))
    keep = _valid(g, net, has_net, ded, has_ded, ex, dep, a, r, t)
    if not keep.all():
        sel = np.flatnonzero(keep)
        idx = [idx[k] for k in sel.tolist()]
        g, net, ded, ex, a, r, has_net, has_ded, und, dep, t = (
            x[sel] for x in (g, net, ded, ex, a, r, has_net, has_ded, und, dep, t)
        )
    if not idx:
        return out
    rates, terms = [float(x) for x in r.tolist()], t.tolist()
    factors = _Factors(rates)
    with np.errstate(all="ignore"):
        res = _evaluate_rows(g, net, has_net, ded, has_ded, ex, dep, und, a, r, t, rule, factors, rates, terms)
    for i, row in zip(idx, res, strict=True):
        out[i] = row
    return out


def _evaluate_rows(g, net, has_net, ded, has_ded, ex, dep, und, a, r, t, rule, factors, rates, terms):
    income = g
    deductions = np.where(has_net, income - net, np.where(has_ded, ded, rule.deduction_rate * income))
    netinc = income - deductions
    rm = r / 12.0
    zero = rm == 0.0
    tf = t.astype(float)

    def instalments(amount: np.ndarray, f: np.ndarray, term: np.ndarray) -> np.ndarray:
        return np.where(zero, amount / term, amount * rm / f)

    f_req = factors(terms)
    new = instalments(a, f_req, tf)
    nth = netinc - ex - new
    base = income if rule.foir_base == "gross" else netinc
    floor = rule.min_nth + rule.min_nth_per_dependant * dep.astype(float)
    share_u, share = rule.min_nth_share_with_undertaking, rule.min_nth_share
    has_share = np.full(len(g), share is not None)
    share_v = np.full(len(g), _NAN if share is None else share)
    if share_u is not None:
        has_share |= und
        share_v = np.where(und, share_u, share_v)
    any_share, has_foir = bool(has_share.any()), rule.max_foir is not None

    def fails(
        amount: np.ndarray, f: np.ndarray, term: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        new_ = instalments(amount, f, term)
        nth_ = netinc - ex - new_
        s_floor = nth_ - floor
        s_share = nth_ - share_v * income if any_share else None
        s_foir = rule.max_foir * base - (ex + new_) if has_foir else None
        return s_floor, s_share, s_foir

    def passes(amount: np.ndarray, f: np.ndarray, term: np.ndarray) -> np.ndarray:
        s_floor, s_share, s_foir = fails(amount, f, term)
        bad = s_floor < 0
        if s_share is not None:
            bad |= has_share & (s_share < 0)
        if s_foir is not None:
            bad |= s_foir < 0
        return ~bad

    s_floor, s_share, s_foir = fails(a, f_req, tf)
    fail_share = has_share & (s_share < 0) if s_share is not None else np.zeros(len(g), bool)
    fail_foir = s_foir < 0 if s_foir is not None else np.zeros(len(g), bool)
    fail_floor = s_floor < 0
    margin = s_floor  # min() over the slacks in the scalar's order: a later one wins only if smaller
    if s_share is not None:
        margin = np.where(has_share & (s_share < margin), s_share, margin)
    if s_foir is not None:
        margin = np.where(s_foir < margin, s_foir, margin)
    foir = np.where(base > 0, (ex + new) / base, np.inf)
    nth_share = nth / income

    # counter-offer (affordability._counter_offer, step for step)
    room = new + margin
    step = rule.amount_step
    pos = room > 0
    principal = np.where(zero, room * tf, room * f_req / rm)
    best = np.where(pos, np.floor(principal / step) * step, 0.0)
    act = pos.copy()
    for _ in range(3):
        act &= ~((best <= 0) | passes(best, f_req, tf))
        best = np.where(act, best - step, best)
    act = pos.copy()
    for _ in range(3):
        nb = best + step
        act &= (nb > best) & passes(nb, f_req, tf)
        best = np.where(act, nb, best)
    max_amount = np.where(best < 0.0, 0.0, best)
    t_max = np.full(len(g), float(MAX_TERM_MONTHS))
    no_term = ~pos | ~passes(a, factors([MAX_TERM_MONTHS] * len(g)), t_max)
    # the closed-form term guess, checked a month either side; the rare miss goes to the scalar path
    bad = ~np.isfinite(principal / step) & pos
    bad |= ~(np.isfinite(nth) & np.isfinite(margin) & np.isfinite(room) & np.isfinite(nth_share))
    guesses = terms.copy()
    amounts, rooms = a.tolist(), room.tolist()
    for k in np.flatnonzero(~no_term).tolist():
        try:
            guesses[k] = min(max(_min_term_guess(amounts[k], rates[k], rooms[k]), 1), MAX_TERM_MONTHS)
        except (ArithmeticError, ValueError):
            bad[k] = True
    gt = np.array(guesses, dtype=np.int64)
    below = [max(x - 1, 1) for x in guesses]
    ok_guess = passes(a, factors(guesses), gt.astype(float)) & (
        (gt == 1) | ~passes(a, factors(below), np.array(below, dtype=float))
    )
    bad |= ~no_term & ~ok_guess

    failed = [
        tuple(k for k, f in (("nth_share", fs), ("foir", ff), ("floor", fl)) if f)
        for fs, ff, fl in zip(fail_share.tolist(), fail_foir.tolist(), fail_floor.tolist(), strict=True)
    ]
    rows = []
    for inc, d, nt, e, nw, h, hs, fo, fl, fr, m, mx, nt_, gs, b in zip(
        income.tolist(),
        deductions.tolist(),
        netinc.tolist(),
        ex.tolist(),
        new.tolist(),
        nth.tolist(),
        nth_share.tolist(),
        foir.tolist(),
        floor.tolist(),
        failed,
        margin.tolist(),
        max_amount.tolist(),
        no_term.tolist(),
        guesses,
        bad.tolist(),
        strict=True,
    ):
        rows.append(
            None
            if b
            else {
                "income": inc,
                "deductions": d,
                "net_income": nt,
                "existing_obligations": e,
                "new_instalment": nw,
                "nth": h,
                "nth_share": hs,
                "foir": fo,
                "floor": fl,
                "passed": not fr,
                "failed_rules": list(fr),
                "margin": m,
                "counter_offer": {"max_amount": mx, "min_term": None if nt_ else gs},
            }
        )
    return rows

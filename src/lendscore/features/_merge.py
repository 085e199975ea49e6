"""Optimal merging of ordered pre-bins under a shape constraint (pure numpy/python, no state).

The pre-bins of one characteristic arrive ordered (by value for numeric features, by smoothed
event rate for categorical ones) with their event and non-event counts. This module merges
adjacent pre-bins so that the event rate follows a declared shape (ascending, descending, peak,
valley, or free), every bin holds a minimum number of rows, and at most ``max_n_bins`` remain.

Why by hand: monotone binning is the core of a scorecard and no maintained library offers it
without heavy solver dependencies (optbinning needs OR-Tools). Pool-adjacent-violators (PAVA)
gives the maximum-likelihood monotone fit in linear time; it is short, exact and easy to test.

A merge plan is a list of ``(start, stop)`` pre-bin index ranges, half-open, covering 0..m.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["merge_prebins", "log_likelihood", "TRENDS"]

TRENDS = ("ascending", "descending", "peak", "valley", "none")


def _bernoulli_ll(e: np.ndarray, n: np.ndarray) -> float:
    """Binomial log-likelihood of bins with e events out of n rows at their own event rate."""
    e = np.asarray(e, dtype=float)
    n = np.asarray(n, dtype=float)
    ne = n - e
    with np.errstate(divide="ignore", invalid="ignore"):
        t1 = np.where(e > 0, e * np.log(e / n), 0.0)
        t2 = np.where(ne > 0, ne * np.log(ne / n), 0.0)
    return float(np.sum(t1) + np.sum(t2))


def log_likelihood(plan: list[tuple[int, int]], e: np.ndarray, n: np.ndarray) -> float:
    ce = np.concatenate([[0.0], np.cumsum(e)])
    cn = np.concatenate([[0.0], np.cumsum(n)])
    be = np.array([ce[b] - ce[a] for a, b in plan])
    bn = np.array([cn[b] - cn[a] for a, b in plan])
    return _bernoulli_ll(be, bn)


def _pava(
    e: list[float], n: list[float], start: int, increasing: bool, prefix_ll: list[float] | None = None
) -> list[list[float]]:
    """Blocks [e, n, start, stop, loglik] of the maximum-likelihood monotone (strict) event-rate fit.

    PAVA reads the pre-bins left to right and its stack after ``t`` of them is the fit of that
    prefix; with ``prefix_ll`` given, the stack's log-likelihood (a running sum) is appended to it
    after each pre-bin, so one pass gives the fit of every prefix.
    """
    blocks: list[list[float]] = []
    total = 0.0
    for i in range(len(e)):
        blocks.append([e[i], n[i], start + i, start + i + 1, _ll1(e[i], n[i])])
        total += blocks[-1][4]
        while len(blocks) > 1:
            prev, last = blocks[-2], blocks[-1]
            # merge when the order is violated or tied: le/ln <= pe/pn for increasing
            violated = last[0] * prev[1] <= prev[0] * last[1] if increasing else last[0] * prev[1] >= prev[0] * last[1]
            if not violated:
                break
            blocks.pop()
            total -= prev[4] + last[4]
            prev[0] += last[0]
            prev[1] += last[1]
            prev[3] = last[3]
            prev[4] = _ll1(prev[0], prev[1])
            total += prev[4]
        if prefix_ll is not None:
            prefix_ll.append(total)
    return blocks


def _prefix_ll(e: list[float], n: list[float], increasing: bool) -> list[float]:
    """``out[t]``: log-likelihood of the monotone fit (:func:`_pava`) of the first ``t`` pre-bins."""
    out = [0.0]
    _pava(e, n, 0, increasing, out)
    return out


def _shape_plan(e: np.ndarray, n: np.ndarray, trend: str) -> list[tuple[int, int]]:
    m = len(e)
    el, nl = e.tolist(), n.tolist()
    if trend == "none" or m <= 1:
        return [(i, i + 1) for i in range(m) if nl[i] > 0]
    if trend in ("ascending", "descending"):
        blocks = _pava(el, nl, 0, trend == "ascending")
        return [(int(b[2]), int(b[3])) for b in blocks]
    # unimodal: increasing then decreasing (peak) or decreasing then increasing (valley); the
    # turning point t maximises fit(first t, up) + fit(rest, down). Every prefix fit comes from one
    # PAVA pass, every suffix fit from one pass over the reversed pre-bins (the monotone fit is
    # unique, so reading the other way round gives the same blocks): linear, not quadratic, in m
    up = trend == "peak"
    left = _prefix_ll(el, nl, up)
    right = _prefix_ll(el[::-1], nl[::-1], up)  # the suffix, reversed, rises where it falls
    lls = [left[t] + right[m - t] for t in range(1, m)]
    top = max(lls)
    t = 1 + next(k for k, ll in enumerate(lls) if ll >= top - 1e-9 * (abs(top) + 1.0))
    blocks = _pava(el[:t], nl[:t], 0, up) + _pava(el[t:], nl[t:], t, not up)
    return [(int(b[2]), int(b[3])) for b in blocks]


def _ll1(e: float, n: float) -> float:
    ne = n - e
    return (e * math.log(e / n) if e > 0 else 0.0) + (ne * math.log(ne / n) if ne > 0 else 0.0)


def _merge_cost(ea: float, na: float, eb: float, nb: float) -> float:
    """Log-likelihood lost by merging two bins (>= 0)."""
    return _ll1(ea, na) + _ll1(eb, nb) - _ll1(ea + eb, na + nb)


def _merge_adjacent(plan, e, n, must_merge, max_bins, min_gain):
    """Greedy adjacent merging.

    First merges every bin flagged by ``must_merge(e_bin, n_bin)`` into the neighbour that loses
    the least likelihood, then merges the cheapest adjacent pair while there are more than
    ``max_bins`` bins or the cheapest merge loses less than ``min_gain`` log-likelihood.
    """
    ce = np.concatenate([[0.0], np.cumsum(e)])
    cn = np.concatenate([[0.0], np.cumsum(n)])
    bins = [[ce[b] - ce[a], cn[b] - cn[a], a, b] for a, b in plan]

    def merge(i: int) -> None:  # merge bin i with bin i + 1
        a, b = bins[i], bins.pop(i + 1)
        a[0] += b[0]
        a[1] += b[1]
        a[3] = b[3]

    def cost(i: int) -> float:
        return _merge_cost(bins[i][0], bins[i][1], bins[i + 1][0], bins[i + 1][1])

    while len(bins) > 1:
        small = [i for i, b in enumerate(bins) if must_merge(b[0], b[1])]
        if not small:
            break
        i = min(small, key=lambda k: bins[k][1])
        if i == 0:
            merge(0)
        elif i == len(bins) - 1:
            merge(i - 1)
        else:
            merge(i if cost(i) <= cost(i - 1) else i - 1)
    while len(bins) > 1:
        costs = [cost(i) for i in range(len(bins) - 1)]
        i = int(np.argmin(costs))
        if len(bins) > max_bins or costs[i] < min_gain:
            merge(i)
        else:
            break
    return [(int(b[2]), int(b[3])) for b in bins]


def merge_prebins(
    n_event: np.ndarray,
    n_total: np.ndarray,
    *,
    trend: str,
    min_bin_size: float,
    max_n_bins: int,
    min_gain: float = 0.0,
) -> list[tuple[int, int]]:
    """Merge ordered pre-bins into final bins.

    Parameters
    ----------
    n_event, n_total : per pre-bin event count and row count (pre-bins with no rows are allowed).
    trend : one of ``TRENDS``; the event rate of the final bins follows it (strictly).
    min_bin_size : every final bin holds at least this many rows (when the data allow).
    max_n_bins : upper bound on the number of final bins.
    min_gain : adjacent bins whose split gains less log-likelihood than this are merged.
    """
    if trend not in TRENDS:
        raise ValueError(f"trend must be one of {TRENDS}; got {trend!r}")
    e = np.asarray(n_event, dtype=float)
    n = np.asarray(n_total, dtype=float)
    keep = n > 0
    idx = np.flatnonzero(keep)
    if len(idx) == 0:
        return []
    plan = _shape_plan(e[keep], n[keep], trend)
    # map back to the original pre-bin indices (empty pre-bins join the bin on their left)
    starts = [int(idx[a]) for a, _ in plan]
    starts[0] = 0
    plan = [(s, starts[k + 1] if k + 1 < len(starts) else len(e)) for k, s in enumerate(starts)]
    return _merge_adjacent(plan, e, n, lambda be, bn: bn < min_bin_size, max_n_bins, min_gain)

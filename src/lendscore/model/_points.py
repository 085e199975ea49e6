"""Points of a fitted scorecard: the points table, row-wise details and the one-applicant path.

Points of input characteristic j in bin i (see :mod:`lendscore.model.scaling`):
``-(coef_j * woe_ji + intercept / n) * factor + offset / n`` with n the number of input
characteristics; a rule adds ``-coef_r * factor`` points when it holds and 0 otherwise. The points
of an applicant add up to the score, and ``PD = 1 / (1 + exp((score - offset) / factor))``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from lendscore.model.grades import assign_grades, grade_of
from lendscore.model.scaling import score_to_pd
from lendscore.model.table import ScoringTable, scoring_table

__all__ = ["build", "details", "logit", "one", "warnings_by_row", "warnings_frame", "warnings_one"]


def build(model) -> None:
    """Set ``table_`` (the :class:`~lendscore.model.table.ScoringTable`), ``points_table_`` and
    ``max_points_`` on a fitted model."""
    ranges = {
        f.name: (f.training_min, f.training_max)
        for f in model.inputs_.fields
        if f.training_min is not None and f.training_max is not None
    }
    table = scoring_table(
        model.binnings_,
        model.selected_features_,
        model.rules_,
        model.coef_,
        model.intercept_,
        model.scaling_,
        model.grades_,
        ranges,
        getattr(model, "points_rounding", None),
    )
    rows = [c.binning.table().assign(coef=c.coef, points=c.points) for c in table.characteristics]
    for r in table.rules:
        la = model.binnings_[r.rule.feature_a].describe_bins(r.rule.bins_a)
        lb = model.binnings_[r.rule.feature_b].describe_bins(r.rule.bins_b)
        rows.append(
            pd.DataFrame(
                {
                    "characteristic": r.name,
                    "bin": [f"{r.rule.feature_a} in {la} and {r.rule.feature_b} in {lb}", "otherwise"],
                    "coef": r.coef,
                    "points": [r.points, 0.0],
                }
            )
        )
    model.table_ = table
    model.points_table_ = pd.concat(rows, ignore_index=True)
    model.max_points_ = table.max_points()


def logit(table: ScoringTable, index: dict[str, np.ndarray]) -> np.ndarray:
    """Log-odds of default of every row: intercept + per-bin contributions + rules that hold."""
    z = np.full(len(next(iter(index.values()))), table.intercept)
    for c in table.characteristics:
        z += c.log_odds[index[c.name]]
    for r in table.rules:
        z += r.log_odds * (r.mask_a[index[r.rule.feature_a]] & r.mask_b[index[r.rule.feature_b]])
    return z


def details(model, Xf: pd.DataFrame, index: dict[str, np.ndarray] | None = None) -> pd.DataFrame:
    """pd, score, grade and points_<characteristic> for every row of a derived frame (``index``:
    its bin indices, when already computed)."""
    table = model.table_
    index = model._index_derived(Xf) if index is None else index
    cols: dict[str, np.ndarray] = {}
    for c in table.characteristics:
        cols["points_" + c.name] = c.points[index[c.name]]
    for r in table.rules:
        hit = r.mask_a[index[r.rule.feature_a]] & r.mask_b[index[r.rule.feature_b]]
        cols["points_" + r.name] = np.where(hit, r.points, 0.0)
    score = np.sum(list(cols.values()), axis=0) if cols else np.zeros(len(Xf))
    pd_ = score_to_pd(score, table.scaling)
    out = pd.DataFrame({"pd": pd_, "score": score, "grade": assign_grades(pd_, list(table.grades))}, index=Xf.index)
    return pd.concat([out, pd.DataFrame(cols, index=Xf.index)], axis=1)


def one(model, applicant: dict, index: dict[str, int] | None = None) -> dict:
    """Score one applicant (a dict of raw values; absent keys count as missing). ``index``, when
    given, receives the bin index of every input read (for :func:`warnings_one`)."""
    table = model.table_
    score = 0.0
    points = {}
    index = {} if index is None else index
    for c in table.characteristics:
        i = c.binning.index_of(applicant.get(c.name))
        index[c.name] = i
        p = c.points_list[i]
        points[c.name] = p
        score += p
    for r in table.rules:
        for name in (r.rule.feature_a, r.rule.feature_b):
            if name not in index:
                index[name] = model.binnings_[name].index_of(applicant.get(name))
        p = r.points if (index[r.rule.feature_a] in r.bins_a and index[r.rule.feature_b] in r.bins_b) else 0.0
        points[r.name] = p
        score += p
    sc = table.scaling
    pd_ = 1.0 / (1.0 + math.exp((score - sc.offset) / sc.factor))
    return {
        "pd": pd_,
        "score": score,
        "grade": grade_of(pd_, table.grades, table.grade_bounds),
        "points": points,
    }


def _used(model) -> list[str]:
    return model.table_.inputs


def _flags(model, name: str, values: np.ndarray, index: np.ndarray) -> list[tuple[np.ndarray, str]]:
    """(rows, rule) of the values of one characteristic scored by a declared rule: a category
    never seen in training (the Unseen-category bin), a number outside the training range (the
    outermost bin scores it). One definition for a frame and for one applicant."""
    b = model.binnings_[name]
    k = b.n_bins - 2
    if b.kind == "categorical":
        return [(index == k, "unseen_category")]
    span = model.table_.training_range(name)
    if span is None:
        return []
    x = np.asarray(values, dtype=float)
    regular = index < k
    return [(regular & (x < span[0]), "below_training_range"), (regular & (x > span[1]), "above_training_range")]


def warnings_frame(model, Xf: pd.DataFrame, index: dict[str, np.ndarray] | None = None) -> pd.DataFrame:
    """Rows ``row, field, rule, value`` for every flagged value of a (derived) frame (``index``: its
    bin indices, when already computed)."""
    if index is None:
        index = {c: model.binnings_[c].bin_index(Xf[c]) for c in _used(model) if c in Xf.columns}
    parts = []
    for c, idx in index.items():
        values = Xf[c].to_numpy()
        for mask, rule in _flags(model, c, values if model.binnings_[c].kind == "numeric" else idx, idx):
            rows = np.flatnonzero(mask)
            if rows.size:
                parts.append(pd.DataFrame({"row": rows, "field": c, "rule": rule, "value": values[rows]}))
    if not parts:
        return pd.DataFrame(
            {
                "row": pd.Series(dtype="int64"),
                "field": pd.Series(dtype=object),
                "rule": pd.Series(dtype=object),
                "value": pd.Series(dtype=object),
            }
        )
    return pd.concat(parts, ignore_index=True).sort_values(["row", "field"], kind="stable", ignore_index=True)


def warnings_by_row(table: pd.DataFrame, n: int) -> np.ndarray:
    """:func:`warnings_frame` rows grouped per row: an object array of ``n`` lists of
    ``{"field", "rule", "value"}`` (empty where nothing was flagged)."""
    out = np.empty(n, dtype=object)
    out[:] = [[] for _ in range(n)]
    for row, field_, rule, value in zip(
        table["row"].tolist(), table["field"].tolist(), table["rule"].tolist(), table["value"].tolist(), strict=True
    ):
        out[row].append({"field": field_, "rule": rule, "value": value})
    return out


def warnings_text(table: pd.DataFrame, n: int) -> np.ndarray:
    """:func:`warnings_frame` as one string per row, ``field:rule`` pairs joined by ``;`` ("" where
    nothing was flagged): what a file of scores carries (built from the flagged rows only)."""
    out = np.full(n, "", dtype=object)
    if len(table):  # the table is sorted by row: most flagged rows have one flag, joined only where more
        pairs = (table["field"].astype(str) + ":" + table["rule"].astype(str)).to_numpy(dtype=object)
        rows, start, count = np.unique(table["row"].to_numpy(), return_index=True, return_counts=True)
        one = count == 1
        out[rows[one]] = pairs[start[one]]
        for r, s0, k in zip(rows[~one], start[~one], count[~one], strict=True):
            out[r] = ";".join(pairs[s0 : s0 + k])
    return out


def warnings_one(model, applicant: dict, index: dict[str, int]) -> list[dict]:
    """The flags of one applicant (a derived dict): ``[{"field", "rule", "value"}]``. The scalar twin
    of :func:`_flags` (the one-applicant path stays in plain Python); ``tests/test_model_file_v2.py``
    compares the two on raw rows with unseen categories and out-of-range values."""
    out = []
    table = model.table_
    for c in table.inputs:
        value = applicant.get(c)
        b = model.binnings_[c]
        idx = index[c]
        k = b.n_bins - 2
        if b.kind == "categorical":
            if idx == k:
                out.append({"field": c, "rule": "unseen_category", "value": value})
            continue
        span = table.training_range(c)
        if idx >= k or span is None:
            continue
        assert value is not None  # a regular bin: index_of found a number (a missing value is bin k + 1)
        x = float(value)
        if x < span[0]:
            out.append({"field": c, "rule": "below_training_range", "value": value})
        elif x > span[1]:
            out.append({"field": c, "rule": "above_training_range", "value": value})
    return out

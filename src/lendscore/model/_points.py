"""Points of a fitted scorecard: the points table, row-wise details and the one-applicant path.

Points of input characteristic j in bin i (see :mod:`lendscore.model.scaling`):
``-(coef_j * woe_ji + intercept / n) * factor + offset / n`` with n the number of input
characteristics; a rule adds ``-coef_r * factor`` points when it holds and 0 otherwise. The points
of an applicant add up to the score, and ``PD = 1 / (1 + exp((score - offset) / factor))``.
"""
from __future__ import annotations

import bisect
import math

import numpy as np
import pandas as pd

from lendscore.model.grades import assign_grades
from lendscore.model.scaling import bin_points, score_to_pd

__all__ = ["build", "details", "one", "warnings_frame", "warnings_one"]


def build(model) -> None:
    """Set ``points_table_``, ``max_points_`` and the lookup arrays on a fitted model."""
    sc = model.scaling_
    n_in = len(model.selected_features_)
    lookup, rows, max_points = {}, [], {}
    for j, c in enumerate(model.selected_features_):
        b = model.binnings_[c]
        pts = bin_points(model.coef_[j], b.woe, model.intercept_, n_in, sc)
        lookup[c] = pts
        t = b.table().assign(coef=model.coef_[j], points=pts)
        rows.append(t)
        max_points[c] = float(pts.max())
    rule_points = []
    for k, r in enumerate(model.rules_):
        on = float(-model.coef_[n_in + k] * sc.factor)
        rule_points.append(on)
        la = model.binnings_[r.feature_a].describe_bins(r.bins_a)
        lb = model.binnings_[r.feature_b].describe_bins(r.bins_b)
        rows.append(pd.DataFrame({
            "characteristic": r.name,
            "bin": [f"{r.feature_a} in {la} and {r.feature_b} in {lb}", "otherwise"],
            "coef": model.coef_[n_in + k], "points": [on, 0.0]}))
        max_points[r.name] = max(on, 0.0)
    model.points_table_ = pd.concat(rows, ignore_index=True)
    model.max_points_ = max_points
    model._lookup = lookup
    model._lookup_lists = {c: v.tolist() for c, v in lookup.items()}
    model._rule_points = rule_points
    model._rule_sets = [(frozenset(r.bins_a), frozenset(r.bins_b)) for r in model.rules_]
    model._contrib = {c: model.coef_[j] * model.binnings_[c]._woe for j, c in enumerate(model.selected_features_)}
    model._rule_masks = []
    for k, r in enumerate(model.rules_):
        ma = np.zeros(model.binnings_[r.feature_a].n_bins, dtype=bool)
        ma[list(r.bins_a)] = True
        mb = np.zeros(model.binnings_[r.feature_b].n_bins, dtype=bool)
        mb[list(r.bins_b)] = True
        model._rule_masks.append((ma, mb, float(model.coef_[n_in + k])))
    model._grade_bounds = [g["pd_max"] for g in model.grades_[:-1]]


def details(model, Xf: pd.DataFrame) -> pd.DataFrame:
    """pd, score, grade and points_<characteristic> for every row of a raw frame."""

    index = model._index(Xf)
    cols: dict[str, np.ndarray] = {}
    for c in model.selected_features_:
        cols["points_" + c] = model._lookup[c][index[c]]
    for r, on in zip(model.rules_, model._rule_points):
        hit = r.mask(index[r.feature_a], index[r.feature_b], model.binnings_[r.feature_a].n_bins,
                     model.binnings_[r.feature_b].n_bins)
        cols["points_" + r.name] = np.where(hit, on, 0.0)
    score = np.sum(list(cols.values()), axis=0) if cols else np.zeros(len(Xf))
    pd_ = score_to_pd(score, model.scaling_)
    out = pd.DataFrame({"pd": pd_, "score": score, "grade": assign_grades(pd_, model.grades_)},
                       index=Xf.index)
    return pd.concat([out, pd.DataFrame(cols, index=Xf.index)], axis=1)


def one(model, applicant: dict) -> dict:
    """Score one applicant (a dict of raw values; absent keys count as missing)."""
    score = 0.0
    points = {}
    index = {}
    binnings = model.binnings_
    for c in model.selected_features_:
        i = binnings[c].index_of(applicant.get(c))
        index[c] = i
        p = model._lookup_lists[c][i]
        points[c] = p
        score += p
    for r, on, (sa, sb) in zip(model.rules_, model._rule_points, model._rule_sets):
        for c in (r.feature_a, r.feature_b):
            if c not in index:
                index[c] = binnings[c].index_of(applicant.get(c))
        p = on if (index[r.feature_a] in sa and index[r.feature_b] in sb) else 0.0
        points[r.name] = p
        score += p
    sc = model.scaling_
    pd_ = 1.0 / (1.0 + math.exp((score - sc.offset) / sc.factor))
    return {"pd": pd_, "score": score, "grade": model.grades_[bisect.bisect_left(model._grade_bounds, pd_)]["grade"],
            "points": points}


def _used(model) -> list[str]:
    names = list(model.selected_features_)
    return names + [c for r in model.rules_ for c in (r.feature_a, r.feature_b) if c not in names]


def _flags(model, name: str, values: np.ndarray, index: np.ndarray) -> list[tuple[np.ndarray, str]]:
    """(rows, rule) of the values of one characteristic scored by a declared rule: a category
    never seen in training (the Unseen-category bin), a number outside the training range (the
    outermost bin scores it). One definition for a frame and for one applicant."""
    b = model.binnings_[name]
    k = b.n_bins - 2
    if b.kind == "categorical":
        return [(index == k, "unseen_category")]
    spec = model.inputs_.field(name)
    if spec is None or spec.training_min is None:
        return []
    x = np.asarray(values, dtype=float)
    regular = index < k
    return [(regular & (x < spec.training_min), "below_training_range"),
            (regular & (x > spec.training_max), "above_training_range")]


def warnings_frame(model, Xf: pd.DataFrame) -> pd.DataFrame:
    """Rows ``row, field, rule, value`` for every flagged value of a (derived) frame."""
    index = {c: model.binnings_[c].bin_index(Xf[c]) for c in _used(model) if c in Xf.columns}
    parts = []
    for c, idx in index.items():
        values = Xf[c].to_numpy()
        for mask, rule in _flags(model, c, values if model.binnings_[c].kind == "numeric" else idx, idx):
            rows = np.flatnonzero(mask)
            if rows.size:
                parts.append(pd.DataFrame({"row": rows, "field": c, "rule": rule, "value": values[rows]}))
    if not parts:
        return pd.DataFrame({"row": pd.Series(dtype="int64"), "field": pd.Series(dtype=object),
                             "rule": pd.Series(dtype=object), "value": pd.Series(dtype=object)})
    return pd.concat(parts, ignore_index=True).sort_values(["row", "field"], kind="stable", ignore_index=True)


def warnings_one(model, applicant: dict) -> list[dict]:
    """The flags of one applicant (a derived dict): ``[{"field", "rule", "value"}]``."""
    out = []
    for c in _used(model):
        value = applicant.get(c)
        b = model.binnings_[c]
        idx = np.asarray([b.index_of(value)])
        x = np.asarray([np.nan if value is None or b.kind != "numeric" else float(value)])
        for mask, rule in _flags(model, c, x, idx):
            if mask[0]:
                out.append({"field": c, "rule": rule, "value": value})
    return out

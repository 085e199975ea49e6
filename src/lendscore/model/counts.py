"""Fitting a scorecard from counts: the pre-bin counts of each column and the pattern counts.

Once every characteristic is binned, a scorecard's likelihood depends on the training rows only
through, for each distinct *pattern* (the fold of cross-fitted WoE and the bin index of every
characteristic), the summed weight of events and of all rows in it. Everything after binning
(cross-fitted WoE, selection, the sign check, the interaction-rule search, the refits, the
standard errors, the PD cut-off) is computed here from that table, so a fit from counts equals the
fit on the rows it summarises (to rounding) while costing time in the number of patterns, not of
rows. :meth:`Scorecard.fit <lendscore.model.scorecard.Scorecard.fit>` itself compresses its rows
and runs this path; the out-of-core trainer (:mod:`lendscore.outofcore`) and the Spark engine
build the same counts without ever holding the rows.

Public pieces:

- :class:`PrebinCounts`, :func:`prebin_counts`, :func:`binning_from_counts` (from
  :mod:`lendscore.features.binning`): a column's pre-bin counts and the binning fitted from them;
- :func:`binning_options`: the binning limits a scorecard would use for a column;
- :func:`special_codes_from_summary`: the automatic special-code rule from mergeable summaries;
- :func:`fold_of_rows`: the fold of every row (seeded, same stream drawn in chunks);
- :class:`PatternCounts`: the pattern table; :func:`fit_from_counts`: the fitted scorecard.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from lendscore.errors import ConfigError
from lendscore.features.binning import (
    _NINES,
    _SPECIAL_GAP,
    FeatureBinning,
    PrebinCounts,
    binning_from_counts,
    prebin_counts,
)

if TYPE_CHECKING:
    from lendscore.model.scorecard import Scorecard

__all__ = [
    "FOLD_SEED",
    "PatternCounts",
    "PrebinCounts",
    "binning_from_counts",
    "binning_options",
    "fit_from_counts",
    "fold_of_rows",
    "prebin_counts",
    "special_codes_from_summary",
    "threshold_from_counts",
]

FOLD_SEED = 0
"""Seed of the generator that draws each row's WoE fold, in row order."""


def fold_of_rows(n_rows: int, woe_cv: int, rng: np.random.Generator | None = None) -> np.ndarray | None:
    """Fold (0 .. woe_cv-1) of each of ``n_rows`` rows, or None when ``woe_cv`` is 0 or 1.

    The folds are ``np.random.default_rng(FOLD_SEED).integers(0, woe_cv, n)`` in row order. Drawn
    chunk by chunk from one generator (pass ``rng``, created once with :data:`FOLD_SEED`) they
    are the same sequence: numpy draws each bounded int64 from its own 64-bit output, with no
    buffer carried between calls (a test checks it). A streaming fit passes its generator.
    """
    if woe_cv in (0, 1):
        return None
    rng = np.random.default_rng(FOLD_SEED) if rng is None else rng
    return rng.integers(0, woe_cv, n_rows)


def special_codes_from_summary(
    all_integer: bool, present_nines: Sequence[float], max_other: float | None
) -> list[float]:
    """The automatic special codes of a numeric column (as :func:`detect_special_codes`) from
    mergeable summaries of its non-missing values: whether all are integers, which 9s-family codes
    (96, 98, 999, ...) occur, and the largest value that is not a 9s-family code (None if none)."""
    if not all_integer:
        return []
    present = sorted({float(c) for c in present_nines if float(c) in set(_NINES.tolist())})
    if not present or max_other is None:
        return []
    if present[0] <= _SPECIAL_GAP * max(float(max_other), 1.0):
        return []
    return present


def binning_options(model: Scorecard, column: str, total_weight: float) -> dict:
    """Keyword arguments of :func:`binning_from_counts` that ``model`` (a Scorecard, unfitted)
    uses for ``column`` when its training rows weigh ``total_weight`` in all (after class weights)."""
    if model.min_bin_size is not None:
        min_bin = model.min_bin_size
    else:  # a row count: 30 rows or 0.1 % of the rows, but at most 5 % of a tiny sample
        n = float(total_weight)
        min_bin = max(1.0, 0.001 * n, min(30.0, 0.05 * n))
    return {
        "trend": model._trend_of(column),
        "min_bin_size": min_bin,
        "max_n_bins": model.max_n_bins,
        "min_gain": model.min_gain,
        "shape_penalty": model.shape_penalty,
    }


def _group(columns: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(first row of each group, group of each row) of the distinct rows of integer ``columns``.

    Columns are packed into one int64 key in mixed radix, the key being renumbered densely
    (``np.unique``) whenever the next column would overflow it: exact for any number of columns.
    """
    n = len(columns[0]) if columns else 0
    key = np.zeros(n, dtype=np.int64)
    size = 1
    for col in columns:
        c = np.asarray(col, dtype=np.int64)
        radix = int(c.max()) + 1 if n else 1
        if size * radix >= 2**62:
            uniq, key = np.unique(key, return_inverse=True)
            size = len(uniq)
        key = key * radix + c
        size *= radix
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    return first, inverse.ravel()


@dataclass(frozen=True)
class PatternCounts:
    """The training rows summarised as one entry per distinct pattern.

    Attributes (one entry per pattern, all the same length):

    index : dict characteristic name -> bin index (0 .. n_bins-1 of its fitted
        :class:`~lendscore.features.binning.FeatureBinning`, as ``bin_index`` gives it).
        Every characteristic the scorecard is fitted on must be there.
    fold : the WoE fold (0 .. woe_cv-1) of the pattern's rows, or None when the scorecard's
        ``woe_cv`` is 0 or 1 (in-sample WoE). Rows of one pattern share their fold.
    n_event : summed weight of the pattern's event (default) rows.
    n_total : summed weight of all the pattern's rows (events and non-events).
    n_event_rows, n_rows : the same as unweighted row counts; they set the PD cut-off (chosen on
        the rows, unweighted, as :meth:`Scorecard.fit` does). None: equal to ``n_event`` and
        ``n_total`` (no sample or class weights).

    Weights are the sample weights times any class weight (``class_weight="balanced"``: events
    weigh ``0.5 / event share``, non-events ``0.5 / non-event share``).
    """

    index: dict[str, np.ndarray]
    fold: np.ndarray | None
    n_event: np.ndarray
    n_total: np.ndarray
    n_event_rows: np.ndarray | None = None
    n_rows: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.n_total)

    @classmethod
    def from_rows(
        cls,
        index: Mapping[str, np.ndarray],
        fold: np.ndarray | None,
        y: np.ndarray,
        w: np.ndarray | None = None,
        *,
        compress: bool = True,
    ) -> PatternCounts:
        """The patterns of rows with bin indices ``index``, folds ``fold``, 0/1 target ``y`` and
        weights ``w`` (None: 1). ``compress=False`` keeps one pattern per row (the row-level fit)."""
        y = np.asarray(y, dtype=float)
        weighted = w is not None
        w = np.ones_like(y) if w is None else np.asarray(w, dtype=float)
        if not compress:
            return cls(
                {c: np.asarray(v, dtype=np.intp) for c, v in index.items()},
                None if fold is None else np.asarray(fold, dtype=np.intp),
                y * w,
                w.copy(),
                y.copy() if weighted else None,
                np.ones_like(y) if weighted else None,
            )
        cols = ([] if fold is None else [np.asarray(fold)]) + [np.asarray(v) for v in index.values()]
        first, inv = _group(cols)
        m = len(first)
        return cls(
            {c: np.asarray(v, dtype=np.intp)[first] for c, v in index.items()},
            None if fold is None else np.asarray(fold, dtype=np.intp)[first],
            np.bincount(inv, weights=y * w, minlength=m),
            np.bincount(inv, weights=w, minlength=m),
            np.bincount(inv, weights=y, minlength=m) if weighted else None,
            np.bincount(inv, minlength=m).astype(float) if weighted else None,
        )

    def compressed(self) -> PatternCounts:
        """The same counts with equal patterns summed (e.g. after concatenating chunks)."""
        cols = ([] if self.fold is None else [self.fold]) + list(self.index.values())
        first, inv = _group(cols)
        m = len(first)

        def add(x):
            return None if x is None else np.bincount(inv, weights=x, minlength=m)

        return PatternCounts(
            {c: v[first] for c, v in self.index.items()},
            None if self.fold is None else self.fold[first],
            add(self.n_event),
            add(self.n_total),
            add(self.n_event_rows),
            add(self.n_rows),
        )

    @staticmethod
    def concat(parts: Sequence[PatternCounts]) -> PatternCounts:
        """Patterns of several chunks side by side (call :meth:`compressed` to merge equal ones)."""
        first = parts[0]

        def cat(get):
            vals = [get(p) for p in parts]
            return None if any(v is None for v in vals) else np.concatenate(vals)

        return PatternCounts(
            {c: np.concatenate([p.index[c] for p in parts]) for c in first.index},
            cat(lambda p: p.fold),
            np.concatenate([p.n_event for p in parts]),
            np.concatenate([p.n_total for p in parts]),
            cat(lambda p: p.n_event_rows),
            cat(lambda p: p.n_rows),
        )

    def row_counts(self) -> tuple[np.ndarray, np.ndarray]:
        """Unweighted (events, rows) per pattern."""
        if self.n_rows is None or self.n_event_rows is None:
            return self.n_event, self.n_total
        return self.n_event_rows, self.n_rows

    def check(self, binnings: Mapping[str, FeatureBinning], woe_cv: int) -> None:
        """Refuse counts that do not fit the binnings: a missing characteristic, a bin index out of
        range, lengths that differ, negative weights or events above the total, a fold missing."""
        n = len(self.n_total)
        for c, b in binnings.items():
            if c not in self.index:
                raise ValueError(f"PatternCounts.index lacks characteristic {c!r}")
            ix = self.index[c]
            if len(ix) != n:
                raise ValueError(f"PatternCounts.index[{c!r}] has {len(ix)} entries; expected {n}")
            if n and (ix.min() < 0 or ix.max() >= b.n_bins):
                raise ValueError(
                    f"PatternCounts.index[{c!r}] must be in [0, {b.n_bins - 1}]; got {ix.min()}..{ix.max()}"
                )
        if len(self.n_event) != n:
            raise ValueError(f"PatternCounts.n_event has {len(self.n_event)} entries; expected {n}")
        if (self.n_total < 0).any() or (self.n_event < 0).any() or (self.n_event > self.n_total * (1 + 1e-12)).any():
            raise ValueError("PatternCounts needs 0 <= n_event <= n_total in every pattern")
        if woe_cv >= 2:
            if self.fold is None or len(self.fold) != n:
                raise ValueError(f"woe_cv={woe_cv} needs PatternCounts.fold, one fold per pattern")
            if n and (self.fold.min() < 0 or self.fold.max() >= woe_cv):
                raise ValueError(f"PatternCounts.fold must be in [0, {woe_cv - 1}]")

    def fingerprint(self) -> dict:
        """SHA-256 of the counts (bin indices, folds, weights) with the number of rows."""
        h = hashlib.sha256()
        for c in sorted(self.index):
            h.update(c.encode())
            h.update(np.ascontiguousarray(self.index[c], dtype=np.int64).tobytes())
        if self.fold is not None:
            h.update(np.ascontiguousarray(self.fold, dtype=np.int64).tobytes())
        for x in (self.n_event, self.n_total):
            h.update(np.ascontiguousarray(x, dtype=float).tobytes())
        rows = self.row_counts()[1]
        return {"sha256": h.hexdigest(), "n_rows": int(round(float(rows.sum()))), "n_columns": len(self.index)}


def threshold_from_counts(
    p: np.ndarray, n_event: np.ndarray, n_rows: np.ndarray, rule: str, value: float | None = None
) -> tuple[float, str]:
    """:func:`lendscore.validation.metrics.choose_threshold` on rows given as counts: ``p`` the PD of
    each pattern, ``n_event`` / ``n_rows`` its event rows and rows. The fast copy of the one
    definition (tied to it by a test): tied PDs are summed, as the row version does."""
    from lendscore.validation.metrics import choose_threshold

    keep = n_rows > 0
    p, e, t = np.asarray(p, float)[keep], np.asarray(n_event, float)[keep], np.asarray(n_rows, float)[keep]
    if rule == "fixed":  # the cut-off is given: checked (and described) by the one definition
        probe_p = np.array([p.min(), p.max()])
        return choose_threshold(np.array([0, 1]), probe_p, "fixed", value)
    if rule not in ("f1", "ks"):
        raise ConfigError(f"rule must be one of 'f1', 'ks', 'fixed'; got {rule!r}")
    if value is not None:
        raise ConfigError(f"value is only used with rule='fixed'; got value={value!r} with rule={rule!r}")
    order = np.argsort(-p, kind="stable")
    ps, es, ns = p[order], e[order], t[order] - e[order]
    last = np.r_[ps[1:] != ps[:-1], True]
    values, tp, fp = ps[last], np.cumsum(es)[last], np.cumsum(ns)[last]
    if rule == "ks":
        gap = np.abs(tp / tp[-1] - fp / fp[-1])
        best = int(np.argmax(gap))
        th = float(values[best])
        return th, (
            f"PD cut-off {th:.4g} is where the KS statistic ({gap[best]:.3f}) is reached on the "
            "training predictions; PD >= cut-off is predicted to default"
        )
    f1 = 2 * tp / (tp + fp + tp[-1])
    best = int(np.argmax(f1))
    th = float(values[best])
    return th, (
        f"PD cut-off {th:.4g} maximises F1 ({f1[best]:.3f}) on the training predictions; "
        "PD >= cut-off is predicted to default"
    )


def fit_from_counts(
    model: Scorecard,
    binnings: Mapping[str, FeatureBinning],
    patterns: PatternCounts,
    *,
    inputs=None,
    classes: Sequence = (0, 1),
    training_ranges: Mapping[str, tuple[float, float]] | None = None,
) -> Scorecard:
    """Fit ``model`` (an unfitted :class:`Scorecard`, whose parameters are used) from counts.

    ``binnings``: characteristic name -> fitted FeatureBinning (e.g. from
    :func:`binning_from_counts` with :func:`binning_options`), in the order of the model's inputs.
    ``patterns``: the :class:`PatternCounts` of the training rows under those binnings (with
    folds when ``model.woe_cv >= 2``). ``inputs``: the applicant schema, as for ``fit``.
    ``classes``: the two target values, non-event first (``classes_``). ``training_ranges``:
    name -> (min, max) of each numeric input on the training rows (the model file's training
    range; None: none recorded). Returns ``model``, fitted: the same model as ``fit`` on the rows
    the counts summarise, except ``data_fingerprint_``, a hash of the counts.
    """
    from lendscore.model.scorecard import _input_spec

    model._check_params()
    names = list(binnings)
    if not names:
        raise ValueError("binnings must hold at least one characteristic")
    patterns.check(binnings, model.woe_cv)
    model.classes_ = np.asarray(list(classes))
    if len(model.classes_) != 2:
        raise ValueError(f"classes must be the two target values; got {list(classes)}")
    model.feature_names_in_ = np.asarray(names, dtype=object)
    model.n_features_in_ = len(names)
    model.kinds_ = {c: binnings[c].kind for c in names}
    ranges = training_ranges or {}
    frame = pd.DataFrame({c: [float(lo), float(hi)] for c, (lo, hi) in ranges.items() if c in model.kinds_})
    model.inputs_ = _input_spec(inputs, model.kinds_, frame)
    model.binnings_ = dict(binnings)
    model._fit_patterns(patterns, names)
    model.data_fingerprint_ = patterns.fingerprint()
    model.metadata_ = {}
    return model


def _sum_equal(keys: list[np.ndarray], values: list[np.ndarray]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Equal key tuples merged, their ``values`` summed; keys come out sorted (the last key fastest)."""
    order = np.argsort(keys[0], kind="stable") if len(keys) == 1 else np.lexsort(keys[::-1])
    ks = [k[order] for k in keys]
    if not len(order):
        return ks, [v[order] for v in values]
    change = np.zeros(len(order), dtype=bool)
    change[0] = True
    for k in ks:
        change[1:] |= k[1:] != k[:-1]
    starts = np.flatnonzero(change)
    return [k[starts] for k in ks], [np.add.reduceat(v[order], starts) for v in values]


class PatternSums:
    """Pattern counts accumulated chunk by chunk, each row's pattern packed into int64 codes.

    A pattern (WoE fold, then the bin index of every characteristic) is written in mixed radix
    (radix = the fold count, then each binning's ``n_bins``) as one int64 code, or as a few codes
    when the radixes' product would overflow 62 bits (about 15 characteristics of 14 bins per
    code). A chunk of rows is reduced to its distinct codes with event and row counts (one sort
    of ``2 * code + y``), and those sums are merged whenever they hold more entries than
    ``merge_at`` and twice the distinct patterns merged so far: memory stays in the number of
    patterns, time linear in rows. Why not ``pyarrow``'s or pandas' hash group-by: on one int64
    key numpy's sort is as fast here, keeps the keys sorted for the merge, and needs no table.
    Counts are exact integers (rows, unweighted); :meth:`result` weighs them.
    """

    def __init__(self, radix: Sequence[int], merge_at: int = 4_000_000):
        self.radix = [int(r) for r in radix]
        self.groups: list[list[int]] = [[]]  # positions of the pattern digits packed in each code
        size = 2  # the target's digit, in the one-code fast path
        for i, r in enumerate(self.radix):
            if self.groups[-1] and size * r >= 2**62:
                self.groups.append([])
                size = 1
            self.groups[-1].append(i)
            size *= r
        self.merge_at = merge_at
        self.parts: list[tuple[list[np.ndarray], np.ndarray, np.ndarray]] = []
        self.held = 0
        self.merged = 0

    def add(self, digits: Sequence[np.ndarray], y: np.ndarray) -> None:
        """Add rows: ``digits`` one integer array per radix (the fold first, if any), ``y`` 0/1."""
        y = np.asarray(y, dtype=np.int64)
        codes = []
        for g in self.groups:
            code = np.zeros(len(y), dtype=np.int64)
            for i in g:
                code *= self.radix[i]
                code += digits[i]
            codes.append(code)
        if len(codes) == 1:  # one sort of 2 * code + y gives both counts
            u, n = np.unique(codes[0] * 2 + y, return_counts=True)
            keys, e = [u >> 1], n * (u & 1)
        else:
            ks, (n,) = _sum_equal([*codes, y], [np.ones(len(y), dtype=np.int64)])
            keys, e = ks[:-1], n * ks[-1]
        self.parts.append((keys, e, n))
        self.held += len(n)
        if self.held > max(self.merge_at, 2 * self.merged) and len(self.parts) > 1:
            self._merge()

    def _merge(self) -> None:
        keys = [np.concatenate([p[0][j] for p in self.parts]) for j in range(len(self.groups))]
        e = np.concatenate([p[1] for p in self.parts])
        n = np.concatenate([p[2] for p in self.parts])
        self.parts = []
        keys, (e, n) = _sum_equal(keys, [e, n])
        self.parts = [(keys, e, n)]
        self.held = self.merged = len(n)

    def result(
        self, names: Sequence[str], *, fold: bool, w_event: float = 1.0, w_nonevent: float = 1.0
    ) -> PatternCounts:
        """The :class:`PatternCounts`: ``names`` the characteristics (after the fold digit when
        ``fold``); events weigh ``w_event`` and non-events ``w_nonevent`` (class weights)."""
        if len(self.parts) != 1 or self.held != self.merged:
            self._merge()
        keys, e, n = self.parts[0]
        digits: list[np.ndarray] = [np.empty(0, dtype=np.intp)] * len(self.radix)
        for g, code in zip(self.groups, keys, strict=True):
            code = code.copy()
            for i in reversed(g):
                digits[i] = (code % self.radix[i]).astype(np.intp)
                code //= self.radix[i]
        cols = digits[1:] if fold else digits
        index = dict(zip(names, cols, strict=True))
        ef, nf = e.astype(float), n.astype(float)
        if w_event == 1.0 and w_nonevent == 1.0:
            return PatternCounts(index, digits[0] if fold else None, ef, nf)
        return PatternCounts(
            index, digits[0] if fold else None, ef * w_event, ef * w_event + (nf - ef) * w_nonevent, ef, nf
        )

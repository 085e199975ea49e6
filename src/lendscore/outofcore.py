"""Out-of-core training on one machine: a scorecard fitted from Parquet in three streaming passes.

The table is read as Arrow record batches (``pyarrow.parquet.ParquetFile.iter_batches``), one
batch at a time, and never held whole:

1. **Schema and sketch.** Every batch's schema is checked against the first (a column whose type
   changes, a missing target, a target with more than two values or with missing values is
   refused naming the file, the column and the batch, before anything is fitted). Each numeric
   column keeps its range, the summaries of the automatic special-code rule and a seeded
   *bottom-k reservoir* of rows: every row draws a uniform key from one seeded generator and the
   ``sample_size`` rows with the smallest keys are kept. That is a uniform sample without
   replacement, mergeable across batches (keep the k smallest of the union) and exactly
   reproducible; pre-bin edges are its quantiles, as the in-memory fit reads its edges from a
   25,000-row subsample. A reservoir rather than a quantile sketch (t-digest, KLL): edges only
   place *candidate* boundaries (every count is exact), a sample gives the in-memory rule's
   distinct-value edges on low-cardinality columns for free, and it needs no extra dependency.
2. **Pre-bin counts.** Per column, the summed event and total weights of each pre-bin (numeric:
   between the edges; categorical: per category), of the special codes and of the missing
   values; each column's binning is then fitted from those counts
   (:func:`lendscore.model.counts.binning_from_counts`).
3. **Pattern counts.** Every row's bin indices and WoE fold (drawn from the same seeded
   generator as the in-memory fit, batch by batch in file order) are summed into
   :class:`~lendscore.model.counts.PatternCounts`, merged as batches arrive; the scorecard is
   then fitted from them (:func:`lendscore.model.counts.fit_from_counts`).

Memory is a batch plus the reservoir plus the pattern table; time grows linearly with rows. On
data that also fits in memory the model equals ``Scorecard.fit`` given the same pre-bin edges
(``prebin_splits_`` of the result). Sample weights are not supported on this path.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lendscore.errors import DataError, SchemaError, TargetError
from lendscore.features.binning import _NINES, PrebinCounts, _quantiles
from lendscore.model.counts import (
    FOLD_SEED,
    PatternCounts,
    binning_from_counts,
    binning_options,
    fold_of_rows,
    special_codes_from_summary,
)
from lendscore.model.scorecard import Scorecard

__all__ = ["fit_parquet", "parquet_files"]

_RESERVOIR_SEED = 42
_MERGE_AT = 4_000_000  # pattern entries held before equal patterns are summed again


def parquet_files(source: str | Path) -> list[Path]:
    """The Parquet files of ``source``: the file itself, or a folder's ``*.parquet`` files sorted by name."""
    p = Path(source)
    if p.is_dir():
        files = sorted(p.glob("*.parquet"))
        if not files:
            raise DataError(f"{p}: no *.parquet files in this folder", column=None)
        return files
    if not p.exists():
        raise DataError(f"{p}: no such file", column=None)
    return [p]


def _batches(files: list[Path], batch_size: int, columns: list[str] | None) -> Iterator[tuple[Path, int, Any]]:
    import pyarrow.parquet as pq

    for f in files:
        pf = pq.ParquetFile(f)
        for i, batch in enumerate(pf.iter_batches(batch_size=batch_size, columns=columns)):
            yield f, i, batch


def _is_numeric(t) -> bool:
    import pyarrow.types as pat

    return bool(pat.is_integer(t) or pat.is_floating(t) or pat.is_decimal(t))


def _as_float(col) -> np.ndarray:
    import pyarrow as pa
    import pyarrow.compute as pc

    return np.asarray(pc.cast(col, pa.float64()).to_numpy(zero_copy_only=False), dtype=float)


def _as_text(col) -> pd.Series:
    """Categorical values as text (str of each value, missing as None), as the in-memory fit reads them."""
    s = col.to_pandas()
    if isinstance(s.dtype, pd.CategoricalDtype):
        s = s.astype(object)
    return s.where(s.isna(), s.astype(str)) if len(s) else s


@dataclass
class _NumericSketch:
    all_integer: bool = True
    nines: set[float] = field(default_factory=set)
    max_other: float | None = None
    lo: float = np.inf
    hi: float = -np.inf

    def add(self, x: np.ndarray) -> None:
        v = x[~np.isnan(x)]
        if not v.size:
            return
        self.lo, self.hi = min(self.lo, float(v.min())), max(self.hi, float(v.max()))
        if self.all_integer and not np.all(v == np.round(v)):
            self.all_integer = False
        is_nine = np.isin(v, _NINES)
        if is_nine.any():
            self.nines |= {float(c) for c in np.unique(v[is_nine])}
        if (~is_nine).any():
            m = float(v[~is_nine].max())
            self.max_other = m if self.max_other is None else max(self.max_other, m)


def fit_parquet(
    source: str | Path,
    *,
    target: str,
    bad: Any = 1,
    model: Scorecard | None = None,
    columns: list[str] | None = None,
    batch_size: int = 1_000_000,
    sample_size: int = 100_000,
    prebin_splits: dict[str, np.ndarray] | None = None,
    inputs=None,
) -> Scorecard:
    """Fit ``model`` (default ``Scorecard()``) on the Parquet file or folder ``source`` without
    holding it in memory (see the module docstring for the three passes).

    ``target`` is the outcome column and ``bad`` its event (default) value; the other value is the
    non-event. ``columns`` are the characteristics (default: every column but the target).
    ``prebin_splits`` fixes numeric pre-bin edges (``{column: edges}``) instead of the reservoir's.
    The fitted model carries ``prebin_splits_`` (the edges used) and ``n_patterns_``.
    """
    model = Scorecard() if model is None else model
    model._check_params()
    files = parquet_files(source)
    import pyarrow.parquet as pq

    schema = pq.ParquetFile(files[0]).schema_arrow
    if target not in schema.names:
        raise SchemaError(f"{files[0]}: target column {target!r} not found; columns: {', '.join(schema.names)}")
    names = [c for c in (columns or schema.names) if c != target]
    missing = [c for c in names if c not in schema.names]
    if missing:
        raise SchemaError(f"{files[0]}: columns {missing} not found")
    read = [*names, target]
    types = {c: schema.field(c).type for c in read}
    forced = set(model.categorical_features or [])
    kinds = {c: "numeric" if _is_numeric(types[c]) and c not in forced else "categorical" for c in names}
    numeric = [c for c in names if kinds[c] == "numeric"]
    if _is_numeric(types[target]) and isinstance(bad, str):
        try:  # --bad 1 on the command line is text; a numeric target compares numbers
            bad = float(bad)
        except ValueError as exc:
            raise TargetError(f"target column {target!r} is numeric; --bad must be a number, got {bad!r}") from exc

    # pass 1: schema of every batch, the target's values, sketches and the reservoir
    sketches = {c: _NumericSketch() for c in numeric}
    key_rng = np.random.default_rng(_RESERVOIR_SEED)
    res_keys = np.empty(0)
    res_vals = {c: np.empty(0) for c in numeric}
    target_values: set = set()
    n_rows = 0
    for f, i, batch in _batches(files, batch_size, read):
        where = f"{f.name} batch {i}"
        for c in read:
            if c not in batch.schema.names:
                raise SchemaError(f"{where}: column {c!r} is missing")
            t = batch.schema.field(c).type
            if t != types[c]:
                raise SchemaError(f"{where}: column {c!r} changes type from {types[c]} to {t}")
        tcol = batch.column(target)
        if tcol.null_count:
            raise TargetError(f"{where}: target column {target!r} has {tcol.null_count} missing values")
        tv = tcol.to_numpy(zero_copy_only=False)
        target_values |= (
            {float(v) for v in pd.unique(tv)} if _is_numeric(types[target]) else set(pd.unique(tv).tolist())
        )
        if len(target_values) > 2:
            shown = sorted(map(str, target_values))[:10]
            raise TargetError(
                f"{where}: target column {target!r} must have two values; got {len(target_values)}: {shown}"
            )
        keys = key_rng.random(batch.num_rows)
        cand = np.concatenate([res_keys, keys])
        keep = np.argpartition(cand, sample_size)[:sample_size] if cand.size > sample_size else np.arange(cand.size)
        for c in numeric:
            x = _as_float(batch.column(c))
            sketches[c].add(x)
            res_vals[c] = np.concatenate([res_vals[c], x])[keep]
        res_keys = cand[keep]
        n_rows += batch.num_rows
    if n_rows == 0:
        raise DataError(f"{files[0]}: no rows", column=None)
    if len(target_values) < 2 or bad not in target_values:
        raise TargetError(
            f"target column {target!r} must hold the event value {bad!r} and one other value; got {sorted(map(str, target_values))}"
        )
    nonevent = next(v for v in target_values if v != bad)
    order = np.argsort(res_keys, kind="stable")  # the reservoir in key order (deterministic)

    specials: dict[str, list[float]] = {}
    splits: dict[str, np.ndarray] = {}
    given = prebin_splits or {}
    for c in numeric:
        s = sketches[c]
        spec = model._specials_of(c)
        specials[c] = special_codes_from_summary(s.all_integer, sorted(s.nines), s.max_other) if spec is None else spec
        if c in given:
            splits[c] = np.asarray(given[c], dtype=float)
            continue
        v = res_vals[c][order]
        v = v[~np.isnan(v) & ~np.isin(v, specials[c])]
        u = np.unique(v)
        if u.size <= model.max_prebins:
            splits[c] = u[1:]
        else:
            q = _quantiles(v, np.ones_like(v), np.linspace(0.0, 1.0, model.max_prebins + 1)[1:-1], False)
            sp = np.unique(q)
            splits[c] = sp[sp > u[0]]
    del res_vals, res_keys

    def y_of(batch) -> np.ndarray:
        return (batch.column(target).to_numpy(zero_copy_only=False) == bad).astype(float)

    # pass 2 (class weights, which need the event share, are applied to the counts afterwards:
    # events and non-events each scaled, exact): pre-bin counts of every column
    num_e = {c: np.zeros(splits[c].size + 1) for c in numeric}
    num_n = {c: np.zeros(splits[c].size + 1) for c in numeric}
    extra = {c: np.zeros(4) for c in names}  # special e, n, missing e, n
    cat_counts: dict[str, pd.DataFrame] = {
        c: pd.DataFrame(columns=["e", "n"], dtype=float) for c in names if c not in numeric
    }
    n_event_rows = 0.0
    for _f, _i, batch in _batches(files, batch_size, read):
        y = y_of(batch)
        n_event_rows += float(y.sum())
        for c in names:
            col = batch.column(c)
            if c in num_e:
                x = _as_float(col)
                miss = np.isnan(x)
                spec = np.isin(x, specials[c]) if specials[c] else np.zeros_like(miss)
                reg = ~miss & ~spec
                idx = np.searchsorted(splits[c], x[reg], side="right")
                m = splits[c].size + 1
                num_e[c] += np.bincount(idx, weights=y[reg], minlength=m)
                num_n[c] += np.bincount(idx, minlength=m)
                extra[c] += [y[spec].sum(), spec.sum(), y[miss].sum(), miss.sum()]
            else:
                s = _as_text(col)
                miss = s.isna().to_numpy()
                g = pd.DataFrame({"c": s[~miss].to_numpy(), "e": y[~miss], "n": 1.0}).groupby("c")[["e", "n"]].sum()
                cat_counts[c] = cat_counts[c].add(g, fill_value=0.0)
                extra[c] += [0.0, 0.0, y[miss].sum(), miss.sum()]
    share = n_event_rows / n_rows
    we, wn = (0.5 / share, 0.5 / (1 - share)) if model.class_weight == "balanced" else (1.0, 1.0)

    def weigh(e, n):  # class weights applied to counts: events x we, non-events x wn
        e, n = np.asarray(e, dtype=float), np.asarray(n, dtype=float)
        return e * we, e * we + (n - e) * wn

    total = float(n_event_rows * we + (n_rows - n_event_rows) * wn)
    binnings = {}
    for c in names:
        sp_e, sp_n = weigh(extra[c][0], extra[c][1])
        mi_e, mi_n = weigh(extra[c][2], extra[c][3])
        if c in num_e:
            e, n = weigh(num_e[c], num_n[c])
            counts = PrebinCounts(
                "numeric",
                e,
                n,
                splits=splits[c],
                special_codes=specials[c],
                special=(float(sp_e), float(sp_n)),
                missing=(float(mi_e), float(mi_n)),
            )
        else:
            g = cat_counts[c].sort_index()
            e, n = weigh(g["e"].to_numpy(), g["n"].to_numpy())
            counts = PrebinCounts(
                "categorical", e, n, categories=[str(k) for k in g.index], missing=(float(mi_e), float(mi_n))
            )
        binnings[c] = binning_from_counts(c, counts, **binning_options(model, c, total))

    # pass 3: pattern counts (bin indices of every column, the fold of every row)
    fold_rng = np.random.default_rng(FOLD_SEED)
    parts: list[PatternCounts] = []
    held = 0
    weighted = model.class_weight == "balanced"
    for _f, _i, batch in _batches(files, batch_size, read):
        y = y_of(batch)
        index = {}
        for c in names:
            col = batch.column(c)
            index[c] = binnings[c].bin_index(_as_float(col) if c in num_e else _as_text(col))
        fold = fold_of_rows(batch.num_rows, model.woe_cv, fold_rng)
        w = np.where(y == 1, we, wn) if weighted else None
        parts.append(PatternCounts.from_rows(index, fold, y, w))
        held += len(parts[-1])
        if held > _MERGE_AT and len(parts) > 1:
            parts = [PatternCounts.concat(parts).compressed()]
            held = len(parts[0])
    patterns = PatternCounts.concat(parts).compressed() if len(parts) > 1 else parts[0]
    ranges = {c: (sketches[c].lo, sketches[c].hi) for c in numeric if np.isfinite(sketches[c].lo)}
    classes = (nonevent, bad)  # classes_[1] is the event, as predict reads it
    model.fit_from_counts(binnings, patterns, inputs=inputs, classes=classes, training_ranges=ranges)
    model.prebin_splits_ = splits
    model.n_patterns_ = len(patterns)
    return model

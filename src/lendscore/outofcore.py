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
   (:func:`lendscore.model.counts.binning_from_counts`). Every row's pre-bin code (one byte per
   numeric column) and target are written to a temporary file (``spill_dir``, default the
   system's temporary folder; about ``columns + 1`` bytes a row, deleted at the end).
3. **Pattern counts.** Every final bin is a union of pre-bins, so each row's bin indices are read
   from its spilled codes through a lookup table, without reading or binning the Parquet values
   again; with its WoE fold (drawn from the same seeded generator as the in-memory fit, batch by
   batch in file order) they are packed into an int64 code per row and summed by
   :class:`~lendscore.model.counts.PatternSums` (a sort per batch, merged as batches arrive);
   the scorecard is then fitted from the resulting
   :class:`~lendscore.model.counts.PatternCounts` (:func:`lendscore.model.counts.fit_from_counts`).

Memory is a batch plus the reservoir plus the pattern table (the file is read without
pre-buffering: pyarrow's pre-buffer held several batches' column chunks); time grows linearly
with rows. On data that also fits in memory the model equals ``Scorecard.fit`` given the same
pre-bin edges (``prebin_splits_`` of the result). Sample weights are not supported on this path.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lendscore.errors import DataError, SchemaError, TargetError
from lendscore.features.binning import _NINES, PrebinCounts, prebin_edges
from lendscore.model.counts import (
    FOLD_SEED,
    PatternSums,
    binning_from_counts,
    binning_options,
    fold_of_rows,
    special_codes_from_summary,
)
from lendscore.model.scorecard import Scorecard

__all__ = ["fit_parquet", "fit_sql", "parquet_files"]

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
        pf = pq.ParquetFile(f, pre_buffer=False)  # pre-buffering held ~5 batches' column chunks
        for i, batch in enumerate(pf.iter_batches(batch_size=batch_size, columns=columns)):
            yield f, i, batch


def _shown(v: Any) -> str:
    """A target value as a person wrote it: 1, not the 1.0 it is compared as."""
    return f"{v:g}" if isinstance(v, float) else str(v)


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


def _code_dtype(n_codes: int) -> np.dtype:
    return np.dtype(np.uint8 if n_codes <= 2**8 else np.uint16 if n_codes <= 2**16 else np.int32)


class _PrebinCoder:
    """Pass 2: every row's pre-bin code per column, and the event and row counts of each code.

    Numeric column with edges ``splits`` (m = len(splits) + 1 regular pre-bins): codes 0 .. m-1
    are ``searchsorted(splits, x, "right")``, m the special codes, m + 1 missing. Categorical
    column: codes number the categories as they first appear, -1 is missing. Each final bin is a
    union of pre-bins (the binning's splits are a subset of the edges; its groups, of the
    categories), so pass 3 maps codes to bins through a lookup table instead of re-reading values.
    """

    def __init__(
        self,
        names: list[str],
        numeric: list[str],
        splits: dict[str, np.ndarray],
        specials: dict[str, list[float]],
    ) -> None:
        self.numeric = set(numeric)
        self.splits, self.specials = splits, specials
        self.n_event = {c: np.zeros(splits[c].size + 3 if c in self.numeric else 1) for c in names}
        self.n_total = {c: np.zeros_like(v) for c, v in self.n_event.items()}
        self.categories: dict[str, dict[str, int]] = {c: {} for c in names if c not in self.numeric}
        self.dtype = {c: _code_dtype(splits[c].size + 3) if c in self.numeric else np.dtype(np.int32) for c in names}
        self.names = list(names)
        self.n_event_rows = 0.0

    def add(self, batch, y: np.ndarray) -> list[np.ndarray]:
        """Count one batch (``y`` its 0/1 target); return its codes, one array per column."""
        self.n_event_rows += float(y.sum())
        yf = y.astype(float)
        out = []
        for c in self.names:
            col = batch.column(c)
            if c in self.numeric:
                x = _as_float(col)
                sp = self.splits[c]
                code = np.searchsorted(sp, x, side="right").astype(self.dtype[c])
                if self.specials[c]:
                    code[np.isin(x, self.specials[c])] = sp.size + 1
                code[np.isnan(x)] = sp.size + 2
                m = sp.size + 3
                self.n_event[c] += np.bincount(code, weights=yf, minlength=m)
                self.n_total[c] += np.bincount(code, minlength=m)
            else:
                local, uniq = pd.factorize(_as_text(col).to_numpy(dtype=object))
                known = self.categories[c]
                glob = np.array([known.setdefault(str(u), len(known)) for u in uniq], dtype=np.int32)
                code = np.where(local >= 0, glob[local] if len(glob) else -1, -1).astype(np.int32)
                m = len(known) + 1  # counted as code + 1: missing values (code -1) first
                grow = m - len(self.n_event[c])
                self.n_event[c] = np.concatenate([self.n_event[c], np.zeros(grow)])
                self.n_total[c] = np.concatenate([self.n_total[c], np.zeros(grow)])
                self.n_event[c] += np.bincount(code + 1, weights=yf, minlength=m)
                self.n_total[c] += np.bincount(code + 1, minlength=m)
            out.append(code)
        return out

    def counts(self, c: str, we: float, wn: float) -> PrebinCounts:
        """Column ``c``'s :class:`PrebinCounts`, events weighing ``we`` and non-events ``wn``."""
        e = self.n_event[c] * we
        n = e + (self.n_total[c] - self.n_event[c]) * wn
        if c in self.numeric:
            m = self.splits[c].size + 1
            return PrebinCounts(
                "numeric",
                e[:m],
                n[:m],
                splits=self.splits[c],
                special_codes=self.specials[c],
                special=(float(e[m]), float(n[m])),
                missing=(float(e[m + 1]), float(n[m + 1])),
            )
        cats = list(self.categories[c])  # counted as code + 1: missing, then codes 0 .. len-1
        return PrebinCounts("categorical", e[1:], n[1:], categories=cats, missing=(float(e[0]), float(n[0])))

    def bins_of_codes(self, c: str, binning) -> np.ndarray:
        """The bin index of each pre-bin code of column ``c`` (missing as the last entry: code -1)."""
        k = binning.n_bins - 2
        if c in self.numeric:
            sp = self.splits[c]
            final = np.asarray(binning.splits, dtype=float)
            if not np.isin(final, sp).all():  # never: binnings split at pre-bin edges only
                raise RuntimeError(f"{c}: binning splits {final} are not pre-bin edges")
            lower = np.concatenate([[-np.inf], sp])  # the lowest value of each regular pre-bin
            regular = np.searchsorted(final, lower, side="right")
            return np.concatenate([regular, [k, k + 1]]).astype(np.int64)
        cats = pd.Series(list(self.categories[c]), dtype=object)
        return np.concatenate([binning.bin_index(cats), [k + 1]]).astype(np.int64)


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
    spill_dir: str | Path | None = None,
) -> Scorecard:
    """Fit ``model`` (default ``Scorecard()``) on the Parquet file or folder ``source`` without
    holding it in memory (see the module docstring for the three passes).

    ``target`` is the outcome column and ``bad`` its event (default) value; the other value is the
    non-event. ``columns`` are the characteristics (default: every column but the target).
    ``prebin_splits`` fixes numeric pre-bin edges (``{column: edges}``) instead of the reservoir's.
    ``spill_dir`` is where pass 2 writes the rows' pre-bin codes (default: the system's
    temporary folder). The fitted model carries ``prebin_splits_`` (the edges used),
    ``n_patterns_`` and ``stream_seconds_`` (wall seconds of each pass and of the fit).
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

    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
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
            shown = sorted(map(_shown, target_values))[:10]
            raise TargetError(
                f"{where}: target column {target!r} must have two values; got {len(target_values)}: {shown}"
            )
        keys = key_rng.random(batch.num_rows)
        # only rows whose key is below the full reservoir's largest can enter it
        sel = np.flatnonzero(keys < res_keys.max()) if res_keys.size == sample_size else slice(None)
        cand = np.concatenate([res_keys, keys[sel]])
        keep = np.argpartition(cand, sample_size)[:sample_size] if cand.size > sample_size else np.arange(cand.size)
        for c in numeric:
            x = _as_float(batch.column(c))
            sketches[c].add(x)
            res_vals[c] = np.concatenate([res_vals[c], x[sel]])[keep]
        res_keys = cand[keep]
        n_rows += batch.num_rows
        del batch
    if n_rows == 0:
        raise DataError(f"{files[0]}: no rows", column=None)
    if len(target_values) < 2 or bad not in target_values:
        raise TargetError(
            f"target column {target!r} must hold the event value {bad!r} and one other value; got {sorted(map(_shown, target_values))}"
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
        splits[c] = prebin_edges(v, model.max_prebins)
    del res_vals, res_keys

    def y_of(batch) -> np.ndarray:
        return (batch.column(target).to_numpy(zero_copy_only=False) == bad).astype(np.uint8)

    seconds["sketch"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    # pass 2 (class weights, which need the event share, are applied to the counts afterwards:
    # events and non-events each scaled, exact): pre-bin counts of every column, and every row's
    # pre-bin codes spilled to a temporary file for pass 3 (one byte a column for numeric columns)
    with tempfile.TemporaryFile(dir=spill_dir) as spill:
        prebins = _PrebinCoder(names, numeric, splits, specials)
        sizes: list[int] = []
        for _f, _i, batch in _batches(files, batch_size, read):
            y = y_of(batch)
            codes = prebins.add(batch, y)
            spill.write(y.tobytes())
            for a in codes:
                spill.write(a.tobytes())
            sizes.append(batch.num_rows)
            del batch, codes
        n_event_rows = prebins.n_event_rows
        share = n_event_rows / n_rows
        we, wn = (0.5 / share, 0.5 / (1 - share)) if model.class_weight == "balanced" else (1.0, 1.0)
        total = float(n_event_rows * we + (n_rows - n_event_rows) * wn)
        binnings = {}
        lookup = {}  # column -> the bin of each pre-bin code
        for c in names:
            counts = prebins.counts(c, we, wn)
            binnings[c] = binning_from_counts(c, counts, **binning_options(model, c, total))
            lookup[c] = prebins.bins_of_codes(c, binnings[c])
        seconds["prebin_counts"] = time.perf_counter() - t0
        t0 = time.perf_counter()

        # pass 3, over the spilled codes (the Parquet file is not read again): each row's pattern
        # (fold, then the bin of every column) as int64 codes, summed into pattern counts
        fold_rng = np.random.default_rng(FOLD_SEED)
        with_fold = model.woe_cv >= 2
        radix = ([model.woe_cv] if with_fold else []) + [binnings[c].n_bins for c in names]
        sums = PatternSums(radix, merge_at=_MERGE_AT)
        spill.seek(0)
        for size in sizes:
            y = np.fromfile(spill, dtype=np.uint8, count=size)
            digits = [lookup[c][np.fromfile(spill, dtype=prebins.dtype[c], count=size)] for c in names]
            fold = fold_of_rows(size, model.woe_cv, fold_rng)
            sums.add(digits if fold is None else [fold, *digits], y)
            del digits, fold, y
    patterns = sums.result(names, fold=with_fold, w_event=we, w_nonevent=wn)
    del sums
    seconds["pattern_counts"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    ranges = {c: (sketches[c].lo, sketches[c].hi) for c in numeric if np.isfinite(sketches[c].lo)}
    classes = (nonevent, bad)  # classes_[1] is the event, as predict reads it
    model.fit_from_counts(binnings, patterns, inputs=inputs, classes=classes, training_ranges=ranges)
    seconds["fit_from_counts"] = time.perf_counter() - t0
    model.prebin_splits_ = splits
    model.n_patterns_ = len(patterns)
    model.stream_seconds_ = seconds
    return model


def _query_batches(source: str | Path, sql: str, batch_size: int) -> Iterator[Any]:
    """The rows of ``sql`` run on ``source`` (a DuckDB file, a SQLite file or a SQLAlchemy URL) as
    Arrow tables of at most ``batch_size`` rows, fetched as the database streams them."""
    import pyarrow as pa

    from lendscore.data.io import _SQLITE_MAGIC, _is_url

    url = str(source) if _is_url(source) else None
    if url is None:
        path = Path(source)
        if not path.exists():
            raise DataError(f"{path}: no such file", column=None)
        with path.open("rb") as fh:
            if fh.read(len(_SQLITE_MAGIC)) == _SQLITE_MAGIC:
                url = f"sqlite:///{path}"
    if url is None:  # DuckDB: its own Arrow record-batch reader
        import duckdb

        try:
            with duckdb.connect(str(source), read_only=True) as con:
                rel = con.sql(sql)  # to_arrow_reader from DuckDB 1.4 on; fetch_arrow_reader before
                reader = (rel.to_arrow_reader if hasattr(rel, "to_arrow_reader") else rel.fetch_arrow_reader)(
                    batch_size
                )
                for batch in reader:
                    yield pa.Table.from_batches([batch])
        except duckdb.Error as e:
            raise DataError(f"{source}: DuckDB query failed: {e}", column=None) from e
        return
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.connect() as con:
            result = con.execution_options(stream_results=True).execute(sa.text(sql))
            keys = list(result.keys())
            while rows := result.fetchmany(batch_size):
                frame = pd.DataFrame(rows, columns=keys)
                for c in frame.columns:  # numbers as float64 in every batch (a NULL makes ints float)
                    if pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c]):
                        frame[c] = frame[c].astype(float)
                yield pa.Table.from_pandas(frame, preserve_index=False)
    except sa.exc.SQLAlchemyError as e:
        raise DataError(f"SQL query failed: {e}", column=None) from e
    finally:
        engine.dispose()


def fit_sql(
    source: str | Path,
    sql: str,
    *,
    target: str,
    bad: Any = 1,
    model: Scorecard | None = None,
    batch_size: int = 1_000_000,
    spill_dir: str | Path | None = None,
    **options: Any,
) -> Scorecard:
    """:func:`fit_parquet` on the rows of a query: ``sql`` run on ``source`` (a DuckDB or SQLite
    file, or a SQLAlchemy URL such as ``postgresql+psycopg://...``).

    The query runs once; its rows are fetched in batches of ``batch_size`` and written to a
    temporary Parquet file in ``spill_dir`` (the database is not asked to run it three times), which
    :func:`fit_parquet` then streams. A column whose type changes between batches (a number in one,
    text in the next) is refused naming the column and the batch; nothing is kept. ``options``
    are :func:`fit_parquet`'s (``columns``, ``sample_size``, ``prebin_splits``, ``inputs``).
    The rows' order sets the WoE folds and the pre-bin sample, as a file's does: give the query an
    ``ORDER BY`` for a fit that a rerun reproduces exactly (a database may return rows in any order).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from lendscore.data.io import _redact

    label = _redact(str(source))
    with tempfile.TemporaryDirectory(dir=spill_dir, prefix="lendscore-sql-") as tmp:
        path = Path(tmp) / "query.parquet"
        writer = None
        try:
            for i, table in enumerate(_query_batches(source, sql, batch_size)):
                if writer is None:
                    schema = table.schema
                    writer = pq.ParquetWriter(path, schema)
                elif table.schema != schema:
                    for f in schema:
                        t = table.schema.field(f.name).type if f.name in table.schema.names else None
                        if t is None:
                            raise SchemaError(f"{label} query batch {i}: column {f.name!r} is missing")
                        if pa.types.is_null(f.type) and not pa.types.is_null(t):
                            raise SchemaError(
                                f"{label} query batch {i}: column {f.name!r} was NULL in every row of batch 0 and is "
                                f"{t} here: give it a type in the query (CAST) or a larger batch_size"
                            )
                        if t != f.type and not pa.types.is_null(t):
                            raise SchemaError(
                                f"{label} query batch {i}: column {f.name!r} changes type from {f.type} to {t}"
                            )
                    table = table.select(schema.names).cast(schema)  # all-NULL columns take the first type
                writer.write_table(table)
        finally:
            if writer is not None:
                writer.close()
        if writer is None:
            raise DataError(f"{label}: the query returned no rows", column=None)
        return fit_parquet(
            path, target=target, bad=bad, model=model, batch_size=batch_size, spill_dir=spill_dir, **options
        )

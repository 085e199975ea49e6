"""Spark, for a cluster: fit a scorecard from counts computed on Spark, and score with Spark SQL.

Needs the ``spark`` extra (``pip install lendscore[spark]``: PySpark 4, on the driver; the executors
run Spark SQL only) and Java 17+; ``import lendscore`` never imports it. See docs/spark.md.

:func:`fit` reads a Spark DataFrame of prepared training rows (the model inputs and the target)
in a few aggregate jobs and fits on the driver from what they return, the small tables of
:mod:`lendscore.model.counts`:

0. the target's values (``groupBy(target)``, three groups at most): a target with a missing or a
   third value is refused, naming the column, before anything else runs;
1. one aggregate over every numeric column: training range, the summaries the automatic
   special-code rule reads (all integers? which 9s-family codes? the largest other value), an
   approximate distinct count, the weights' validity;
2. pre-bin edges: every distinct value of a column with at most ``max_prebins`` of them
   (``collect_set``), else ``percentile_approx`` at ``max_prebins`` quantiles with
   ``relative_error`` (Spark's Greenwald-Khanna sketch, as ``approxQuantile``), all columns in one
   aggregate -- or the edges the caller gives (``prebin_splits``);
3. pre-bin counts of every column (one ``groupBy`` on (column, pre-bin)), from which each
   characteristic's binning is fitted on the driver (:func:`~lendscore.model.counts.binning_from_counts`);
4. pattern counts: ``groupBy`` on the fold and the bin index of every characteristic, written as
   Spark SQL ``CASE`` expressions from the fitted binnings, with the summed weights of events and
   rows; the driver fits everything else from them
   (:meth:`Scorecard.fit_from_counts <lendscore.model.scorecard.Scorecard.fit_from_counts>`).

No step runs Python per row: the bin indices, folds and sums are Catalyst expressions.

Given the pre-bin edges of the in-memory fit (:func:`prebin_edges`) and the same WoE folds (a
``fold_column``, e.g. from :func:`lendscore.model.counts.fold_of_rows`), the model file equals
``Scorecard.fit``'s except ``training_data`` (a hash of the counts, not of the rows: the rows are
never collected) and ``created_at``. Otherwise three things differ by design:

- pre-bin edges come from Spark's quantile sketch (within ``relative_error`` in rank), not from the
  in-memory fit's strided sample of 25,000 rows; with weights they are unweighted quantiles;
- a Spark DataFrame has no row order to draw folds in, so without ``fold_column`` a row's WoE fold
  is ``pmod(xxhash64(its values), woe_cv)``: the same for every partitioning and run;
- categories are Spark's text of a value (``CAST(x AS STRING)``; booleans as ``True``/``False``, as
  pandas writes them), and ordered pandas Categoricals do not exist, so every categorical column
  is nominal.

:func:`score` adds ``pd``, ``score``, ``grade`` and ``points_<characteristic>`` (prefixed
``lendscore_``) to a DataFrame of raw applicant rows through the model's generated Spark SQL
(:meth:`Scorecard.to_sql <lendscore.model.scorecard.Scorecard.to_sql>` with ``dialect="spark"``),
the same query every warehouse runs.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

try:
    from pyspark.sql import Column, DataFrame
    from pyspark.sql import functions as F
    from pyspark.sql import types as T
except ImportError as e:  # the extra is not installed
    raise ImportError("lendscore.spark needs PySpark 4: pip install 'lendscore[spark]' (and Java 17+)") from e

from lendscore.errors import ConfigError, SchemaError, TargetError
from lendscore.features.binning import _NINES, FeatureBinning, PrebinCounts, binning_from_counts
from lendscore.model.counts import PatternCounts, binning_options, special_codes_from_summary
from lendscore.model.scorecard import Scorecard
from lendscore.scoring import OUTPUT_PREFIX

__all__ = ["fit", "score", "prebin_edges", "column_kinds", "hashed_fold", "local_session"]

_NUMERIC_TYPES = (T.ByteType, T.ShortType, T.IntegerType, T.LongType, T.FloatType, T.DoubleType, T.DecimalType)
_ROW = "__lendscore_row"  # the input row, carried through the scoring query as its id column
_view_ids = itertools.count()


def _col(name: str) -> Column:
    """A column by its exact name (dots, spaces and backticks are part of the name)."""
    return F.col("`" + name.replace("`", "``") + "`")


def column_kinds(df: DataFrame, columns: Sequence[str], categorical: Sequence[str] | None = None) -> dict[str, str]:
    """numeric or categorical for every column, from the Spark schema (as
    :func:`lendscore.model._data.column_kinds` from pandas dtypes): numbers are numeric, anything
    else (strings, booleans, dates) categorical; ``categorical`` forces listed columns."""
    forced = set(categorical or [])
    unknown = sorted(forced - set(columns))
    if unknown:
        raise SchemaError(f"categorical_features names columns not in the DataFrame: {unknown}", column=unknown[0])
    types = {f.name: f.dataType for f in df.schema.fields}
    return {
        c: "numeric" if isinstance(types[c], _NUMERIC_TYPES) and c not in forced else "categorical" for c in columns
    }


def _q(name: str) -> str:
    """A Spark SQL identifier (backticks; a name may hold dots or spaces)."""
    return "`" + name.replace("`", "``") + "`"


def _double(v: float) -> str:
    """A DOUBLE literal (``1.5E0``: a plain ``1.5`` is a DECIMAL in Spark SQL)."""
    r = repr(float(v))
    if not math.isfinite(float(v)):
        raise ValueError(f"cannot write {v!r} as a Spark SQL literal")
    return r if "e" in r else r + "e0"


def _number_sql(name: str) -> str:
    """A numeric column as DOUBLE with NaN read as NULL (missing), as pandas reads NaN."""
    return f"nanvl(CAST({_q(name)} AS DOUBLE), CAST(NULL AS DOUBLE))"


def _number(name: str) -> Column:
    return F.expr(_number_sql(name))


def _text(name: str, dtype: T.DataType) -> Column:
    """A categorical column's value as text, as pandas ``astype(str)`` writes it."""
    c = _col(name)
    if isinstance(dtype, T.BooleanType):
        return F.when(c, F.lit("True")).when(~c, F.lit("False"))
    if isinstance(dtype, (T.FloatType, T.DoubleType)):
        return F.when(~F.isnan(c), c.cast("string"))
    return c.cast("string")


def _numeric_index(name: str, splits: Sequence[float], special: Sequence[float], missing: int, special_bin: int):
    """Bin of a numeric value: ``missing`` for NULL/NaN, ``special_bin`` for a special code, else the
    number of ``splits`` at or below it (``searchsorted(splits, x, "right")``, as
    :meth:`FeatureBinning.bin_index` and the pre-bins count), as one Spark SQL CASE expression."""
    x = _number_sql(name)
    whens = [f"WHEN {x} IS NULL THEN {missing}"]
    if special:
        whens.append(f"WHEN {x} IN ({', '.join(_double(c) for c in special)}) THEN {special_bin}")
    whens += [f"WHEN {x} < {_double(s)} THEN {i}" for i, s in enumerate(splits)]
    return F.expr("CASE " + " ".join(whens) + f" ELSE {len(splits)} END")


def _prebin_index(name: str, splits: Sequence[float], special: Sequence[float]) -> Column:
    """Pre-bin of a numeric value: -1 missing, -2 special, else the number of ``splits`` at or below
    it, counted by ``size(filter(array(splits), s -> s <= x))``. (The same as
    :func:`_numeric_index`; a lambda is not compiled into the stage's generated code, so some
    30 columns of 50 pre-bins stay under the JVM's 64 KB method limit, which their CASE chains
    exceed, making Spark log a compile error and fall back.)"""
    x = _number_sql(name)
    whens = [f"WHEN {x} IS NULL THEN -1"]
    if special:
        whens.append(f"WHEN {x} IN ({', '.join(_double(c) for c in special)}) THEN -2")
    edges = ", ".join(_double(v) for v in splits)
    count = f"size(filter(array({edges}), s -> s <= {x}))" if len(splits) else "0"
    return F.expr("CASE " + " ".join(whens) + f" ELSE {count} END")


def _bin_index(name: str, b: FeatureBinning, dtype: T.DataType) -> Column:
    """:meth:`FeatureBinning.bin_index` as a Spark SQL CASE expression."""
    k = b.n_bins - 2
    if b.kind == "numeric":
        return _numeric_index(name, b.splits, b.special_codes, k + 1, k)
    text = _text(name, dtype)
    case = F.when(text.isNull(), F.lit(k + 1))
    for i, group in enumerate(b.categories):
        if group:
            case = case.when(text.isin(list(group)), F.lit(i))
    return case.otherwise(F.lit(k))


# ----------------------------------------------------------------------------------- checks
def _check_columns(df: DataFrame, needed: Sequence[str], what: str) -> None:
    """Refuse a DataFrame lacking a column, by name, before any job runs (schema only)."""
    have = set(df.columns)
    missing = [c for c in needed if c not in have]
    if missing:
        raise SchemaError(
            f"the Spark DataFrame lacks {what} {missing[0]!r}"
            + (f" (and {missing[1:]})" if len(missing) > 1 else "")
            + f"; its columns: {sorted(have)}",
            column=missing[0],
            rule="column must be present",
        )


def _target_classes(df: DataFrame, target: str) -> tuple[list[Any], dict[Any, int]]:
    """The two target values (sorted: non-event, event) and their row counts; one small job
    (``groupBy`` returning three groups at most). A missing or a third value is refused by name."""
    rows = df.groupBy(_col(target).alias("v")).count().limit(3).collect()
    counts = {r["v"]: int(r["count"]) for r in rows}
    if None in counts:
        raise TargetError(
            f"target {target!r} has {counts[None]} missing values; drop or fix those rows (it must be binary)"
        )
    if len(counts) != 2:
        what = "only one value" if len(counts) == 1 else "more than two values" if counts else "no rows"
        raise TargetError(f"target {target!r} must be binary (two values); got {what}: {sorted(counts, key=str)}")
    classes = sorted(counts)
    return classes, counts


# -------------------------------------------------------------------------------- the fit's jobs
def _numeric_summary(df: DataFrame, numeric: list[str], w: Column, weight_col: str | None, auto: set[str]):
    """Job 1: one aggregate over every numeric column (see the module docstring)."""
    kept = w > 0
    aggs = [F.count(F.lit(1)).alias("n"), F.sum(w).alias("w")]
    if weight_col is not None:
        ww = _col(weight_col).cast("double")
        bad = ww.isNull() | F.isnan(ww) | (ww < 0) | (F.abs(ww) == float("inf"))
        aggs.append(F.sum(F.when(bad, 1).otherwise(0)).alias("bad_w"))
    nines = [float(c) for c in _NINES]
    for j, c in enumerate(numeric):
        x = _number(c)
        xk = F.when(kept, x)
        aggs += [F.min(x).alias(f"min{j}"), F.max(x).alias(f"max{j}"), F.min(xk).alias(f"kmin{j}")]
        aggs.append(F.approx_count_distinct(xk, 0.05).alias(f"nd{j}"))
        if c in auto:
            aggs.append(F.sum(F.when(xk != F.rint(xk), 1).otherwise(0)).alias(f"nonint{j}"))
            aggs.append(F.max(F.when(~xk.isin(nines), xk)).alias(f"other{j}"))
            aggs.append(F.collect_set(F.when(xk.isin(nines), xk)).alias(f"nines{j}"))
    return df.agg(*aggs).collect()[0]


def _edges(df, numeric, specials, summary, w, max_prebins, relative_error, given) -> dict[str, np.ndarray]:
    """Job 2: pre-bin edges of the numeric columns without given edges (module docstring, step 2)."""
    kept = w > 0
    few: list[tuple[int, str]] = []
    many: list[tuple[int, str]] = []
    for j, c in enumerate(numeric):
        if c in given:
            continue
        # the approximate count errs by several % (rsd 5 %: a finer sketch costs far more), so
        # columns anywhere near the limit are counted exactly
        (few if summary[f"nd{j}"] <= 2 * max_prebins + 16 else many).append((j, c))
    aggs = []
    probs = np.linspace(0.0, 1.0, max_prebins + 1)[1:-1].tolist()
    accuracy = max(1, int(math.ceil(1.0 / relative_error)))

    def regular(c):
        x = F.when(kept, _number(c))
        return F.when(~x.isin(specials[c]), x) if specials[c] else x

    for j, c in few:
        aggs.append(F.collect_set(regular(c)).alias(f"set{j}"))
    for j, c in many:
        aggs.append(F.percentile_approx(regular(c), probs, accuracy).alias(f"q{j}"))
    out: dict[str, np.ndarray] = {c: np.asarray(given[c], dtype=float) for c in numeric if c in given}
    if not aggs:
        return out
    row = df.agg(*aggs).collect()[0]
    again = []
    for j, c in few:
        u = np.unique(np.asarray(row[f"set{j}"], dtype=float))
        if u.size <= max_prebins:
            out[c] = u[1:]
        else:
            again.append((j, c))
    if again:  # more distinct values than pre-bins after all: quantiles
        more = df.agg(*[F.percentile_approx(regular(c), probs, accuracy).alias(f"q{j}") for j, c in again])
        row = {**row.asDict(), **more.collect()[0].asDict()}
        many += again
    for j, c in many:
        q = row[f"q{j}"]
        lo = summary[f"kmin{j}"]  # the least regular value (special codes sit far above the rest)
        splits = np.unique(np.asarray(q or [], dtype=float))
        out[c] = splits[splits > lo] if lo is not None else splits[:0]
    return out


def _prebin_counts(df, names, kinds, dtypes, specials, edges, orders, y: Column, w: Column) -> dict[str, PrebinCounts]:
    """Job 3: every column's pre-bin counts in one ``groupBy`` (column, pre-bin or category)."""
    entries = []
    for j, c in enumerate(names):
        if kinds[c] == "numeric":
            idx = _prebin_index(c, edges[c], specials[c])
            entries.append(F.struct(F.lit(j).alias("j"), idx.alias("i"), F.lit(None).cast("string").alias("t")))
        else:
            text = _text(c, dtypes[c])
            entries.append(F.struct(F.lit(j).alias("j"), F.lit(-1).alias("i"), text.alias("t")))
    rows = (
        df.where(w > 0)
        .select(F.explode(F.array(*entries)).alias("e"), (y * w).alias("yw"), w.alias("w"))
        .groupBy("e.j", "e.i", "e.t")
        .agg(F.sum("yw").alias("e"), F.sum("w").alias("n"))
        .collect()
    )
    by_col: dict[int, list] = {j: [] for j in range(len(names))}
    for r in rows:
        by_col[r["j"]].append(r)
    out = {}
    for j, c in enumerate(names):
        rs = by_col[j]
        if kinds[c] == "numeric":
            m = len(edges[c]) + 1
            e, n = np.zeros(m), np.zeros(m)
            extra = {-1: (0.0, 0.0), -2: (0.0, 0.0)}
            for r in rs:
                if r["i"] < 0:
                    extra[r["i"]] = (float(r["e"]), float(r["n"]))
                else:
                    e[r["i"]], n[r["i"]] = r["e"], r["n"]
            out[c] = PrebinCounts(
                "numeric",
                e,
                n,
                splits=np.asarray(edges[c], dtype=float),
                special_codes=list(specials[c]),
                special=extra[-2],
                missing=extra[-1],
            )
        else:
            cats = sorted((r for r in rs if r["t"] is not None), key=lambda r: r["t"])
            miss = next(((float(r["e"]), float(r["n"])) for r in rs if r["t"] is None), (0.0, 0.0))
            if c in orders:  # an ordered characteristic: its categories in the declared order
                rank = {str(v): i for i, v in enumerate(orders[c])}
                unknown = [r["t"] for r in cats if r["t"] not in rank]
                if unknown:
                    raise SchemaError(
                        f"column {c!r} has the value {unknown[0]!r}, which category_orders[{c!r}] does not list",
                        column=c,
                        rule="value must be one of the declared ordered categories",
                    )
                cats.sort(key=lambda r: rank[r["t"]])
            out[c] = PrebinCounts(
                "categorical",
                np.array([float(r["e"]) for r in cats]),
                np.array([float(r["n"]) for r in cats]),
                categories=[r["t"] for r in cats],
                ordered=c in orders,
                missing=miss,
            )
    return out


def _pattern_counts(df, binnings, dtypes, y: Column, w: Column, fold: Column | None, weighted: bool) -> PatternCounts:
    """Job 4: the pattern counts (``groupBy`` on the fold and every bin index)."""
    keys = [_bin_index(c, b, dtypes[c]).alias(f"b{j}") for j, (c, b) in enumerate(binnings.items())]
    if fold is not None:
        keys.append(fold.alias("fold"))
    aggs = [F.sum(y * w).alias("n_event"), F.sum(w).alias("n_total")]
    if weighted:
        aggs += [F.sum(y).alias("n_event_rows"), F.count(F.lit(1)).cast("double").alias("n_rows")]
    table = df.groupBy(*keys).agg(*aggs).toArrow()

    def arr(name, dtype):
        return np.asarray(table.column(name).to_numpy(), dtype=dtype)

    return PatternCounts(
        {c: arr(f"b{j}", np.intp) for j, c in enumerate(binnings)},
        arr("fold", np.intp) if fold is not None else None,
        arr("n_event", float),
        arr("n_total", float),
        arr("n_event_rows", float) if weighted else None,
        arr("n_rows", float) if weighted else None,
    )


# ------------------------------------------------------------------------------------ public API
def hashed_fold(columns: Sequence[str], woe_cv: int) -> Column:
    """A row's WoE fold when the caller gives none: ``pmod(xxhash64(its values), woe_cv)``, a
    function of the row alone (a Spark DataFrame has no row order to draw folds in), so the same
    whatever the partitioning, the run or the cluster."""
    return F.pmod(F.xxhash64(*[_col(c) for c in columns]), F.lit(woe_cv)).cast("int")


def prebin_edges(X, y, *, model: Scorecard | None = None, sample_weight=None) -> dict[str, list[float]]:
    """The pre-bin edges ``Scorecard.fit`` reads from in-memory rows ``X`` (pandas) for each numeric
    column, to give :func:`fit` (``prebin_splits``) so both fits start from the same pre-bins."""
    import pandas as pd

    from lendscore.features.binning import prebin_counts
    from lendscore.model._data import as_frame, encode_target
    from lendscore.model._data import column_kinds as frame_kinds

    model = model if model is not None else Scorecard()
    Xf = as_frame(X)
    _, y01 = encode_target(y if not isinstance(y, pd.Series) else y.reset_index(drop=True))
    kinds = frame_kinds(Xf, model.categorical_features)
    weighted = not (sample_weight is None and model.class_weight is None)
    w = model._weights(y01, sample_weight)
    return {
        c: prebin_counts(
            c,
            Xf[c],
            y01,
            kind="numeric",
            special_codes=model._specials_of(c),
            max_prebins=model.max_prebins,
            sample_weight=w if weighted else None,
        ).splits.tolist()
        for c in Xf.columns
        if kinds[c] == "numeric"
    }


def fit(
    df: DataFrame,
    target: str,
    *,
    sample_weight: str | None = None,
    fold_column: str | None = None,
    prebin_splits: Mapping[str, Sequence[float]] | None = None,
    category_orders: Mapping[str, Sequence[str]] | None = None,
    relative_error: float = 1e-4,
    inputs=None,
    **params: Any,
) -> Scorecard:
    """Fit a :class:`~lendscore.Scorecard` on a Spark DataFrame, computing on Spark and fitting on
    the driver from counts (see the module docstring).

    Parameters
    ----------
    df : the prepared training rows: the model inputs (every column but the target, the weight and
        the fold column), e.g. as :func:`lendscore.data.prepare` leaves them, and the target.
    target : the target column; exactly two values, the larger (sorted) being the event (default),
        as ``Scorecard.fit`` encodes ``y``.
    sample_weight : a column of non-negative row weights (None: every row weighs 1).
    fold_column : a column with each row's WoE fold (0 .. woe_cv-1) when ``woe_cv >= 2``; None: a
        hash of the row's values (module docstring).
    prebin_splits : ``{column: ascending edges}`` fixing numeric columns' pre-bin edges (e.g.
        :func:`prebin_edges` of the in-memory rows); other columns' edges come from Spark.
    category_orders : ``{column: categories in order}`` for ordered characteristics (what an ordered
        pandas Categorical such as sub-grade A1 < A2 < ... declares; Spark has no such type): their
        bins are runs of neighbouring categories. Other categorical columns are nominal.
    relative_error : the quantile sketch's rank error (``percentile_approx`` accuracy = 1 / it).
    inputs : the applicant schema written into the model file, as for ``Scorecard.fit``.
    **params : the :class:`~lendscore.Scorecard` parameters (checked before any job runs).
    """
    model = Scorecard(**params)
    model._check_params()
    if not 0 < relative_error < 1:
        raise ConfigError(f"relative_error must be in (0, 1); got {relative_error!r}")
    special = {c for c in (sample_weight, fold_column) if c is not None}
    _check_columns(df, [target], "the target column")
    _check_columns(df, sorted(special), "the column")
    names = [c for c in df.columns if c != target and c not in special]
    if not names:
        raise SchemaError(f"the Spark DataFrame has no model input beside the target {target!r}", column=target)
    kinds = column_kinds(df, names, model.categorical_features)
    given = {str(c): v for c, v in (prebin_splits or {}).items()}
    not_numeric = [c for c in given if kinds.get(c) != "numeric"]
    if not_numeric:
        raise ConfigError(f"prebin_splits names {not_numeric[0]!r}, which is not a numeric input of the DataFrame")
    orders = {str(c): [str(v) for v in v_] for c, v_ in (category_orders or {}).items()}
    not_categorical = [c for c in orders if kinds.get(c) != "categorical"]
    if not_categorical:
        raise ConfigError(
            f"category_orders names {not_categorical[0]!r}, which is not a categorical input of the DataFrame"
        )
    fold: Column | None = None
    if model.woe_cv >= 2:
        fold = hashed_fold(df.columns, model.woe_cv) if fold_column is None else _col(fold_column).cast("int")
    dtypes = {f.name: f.dataType for f in df.schema.fields}

    # 0. the target (first: a bad target is refused before the heavier jobs)
    clock = [time.perf_counter()]
    classes, counts = _target_classes(df, target)
    y = F.when(_col(target) == F.lit(classes[1]), F.lit(1.0)).otherwise(F.lit(0.0))
    w = _col(sample_weight).cast("double") if sample_weight is not None else F.lit(1.0)
    if model.class_weight == "balanced":
        pos = counts[classes[1]] / (counts[classes[0]] + counts[classes[1]])
        w = w * F.when(y == 1.0, F.lit(0.5 / pos)).otherwise(F.lit(0.5 / (1 - pos)))
    weighted = not (sample_weight is None and model.class_weight is None)

    # 1. numeric summaries: ranges, special codes, distinct counts, the weights' validity
    numeric = [c for c in names if kinds[c] == "numeric"]
    auto = {c for c in numeric if model._specials_of(c) is None}
    summary = _numeric_summary(df, numeric, w, sample_weight, auto)
    clock.append(time.perf_counter())
    if sample_weight is not None and summary["bad_w"]:
        raise SchemaError(
            f"sample weight column {sample_weight!r} must be finite and >= 0; got {summary['bad_w']} rows that are not",
            column=sample_weight,
            rule="finite and >= 0",
        )
    total = float(summary["w"] or 0.0)
    if total <= 0:
        raise SchemaError(f"sample weight column {sample_weight!r} weighs nothing in all", column=sample_weight)
    specials: dict[str, list[float]] = {}
    ranges: dict[str, tuple[float, float]] = {}
    for j, c in enumerate(numeric):
        if summary[f"min{j}"] is not None:
            ranges[c] = (float(summary[f"min{j}"]), float(summary[f"max{j}"]))
        if c in auto:
            specials[c] = special_codes_from_summary(
                summary[f"nonint{j}"] == 0, summary[f"nines{j}"], summary[f"other{j}"]
            )
        else:
            specials[c] = [float(v) for v in model._specials_of(c)]

    # 2. pre-bin edges; 3. pre-bin counts -> binnings
    edges = _edges(df, numeric, specials, summary, w, model.max_prebins, relative_error, given)
    clock.append(time.perf_counter())
    pre = _prebin_counts(df, names, kinds, dtypes, specials, edges, orders, y, w)
    binnings = {c: binning_from_counts(c, pre[c], **binning_options(model, c, total)) for c in names}
    clock.append(time.perf_counter())

    # 4. pattern counts -> everything else, on the driver
    patterns = _pattern_counts(df, binnings, dtypes, y, w, fold, weighted)
    clock.append(time.perf_counter())
    model.fit_from_counts(binnings, patterns, inputs=inputs, classes=classes, training_ranges=ranges)
    clock.append(time.perf_counter())
    stages = ("target and summaries", "pre-bin edges", "pre-bin counts and binnings", "pattern counts", "fit")
    model.spark_seconds_ = {k: b - a for k, a, b in zip(stages, clock[:-1], clock[1:], strict=True)}
    model.prebin_splits_ = {c: edges[c].tolist() for c in numeric}  # what the binnings started from
    model.n_patterns_ = len(patterns)
    return model


def _required_columns(model) -> list[str]:
    """Columns a DataFrame must have to be scored: the model inputs its file does not derive."""
    derived = set(model.inputs_.derivation.outputs)
    return [c for c in model.table_.inputs if c not in derived]


def score(
    df: DataFrame,
    model,
    *,
    prefix: str = OUTPUT_PREFIX,
    decision_date=None,
    with_points: bool = True,
) -> DataFrame:
    """``df`` with ``pd``, ``score``, ``grade`` and (``with_points``) ``points_<characteristic>``
    added, each prefixed with ``prefix`` (``lendscore_``: no output shadows an input such as Lending
    Club's ``grade``), computed by the model's Spark SQL (no Python per row). ``df`` holds raw
    applicant rows: the model file's derivation (NTH, credit age, ...) runs in the query. A model
    input that is neither in ``df`` nor derived is refused by name before any job runs.
    ``decision_date`` dates rows without an application date (default: today, UTC).
    """
    from lendscore.model.scorecard import _check_fitted

    _check_fitted(model)
    _check_columns(df, _required_columns(model), "the model input")
    if _ROW in df.columns:
        raise SchemaError(f"column {_ROW!r} clashes with a name lendscore.spark uses internally", column=_ROW)
    outputs = [c for c in df.columns if c.startswith(prefix)]
    if outputs:
        raise SchemaError(
            f"column {outputs[0]!r} would be overwritten by a score column (prefix {prefix!r}); rename it",
            column=outputs[0],
        )
    spark = df.sparkSession
    view = f"__lendscore_applicants_{next(_view_ids)}"
    df.select(
        F.struct(*[_col(c) for c in df.columns]).alias(_ROW), *[_col(c) for c in df.columns]
    ).createOrReplaceTempView(view)
    sql = model.to_sql(view, dialect="spark", id_column=_ROW, columns=[*df.columns, _ROW], decision_date=decision_date)
    try:
        scored = spark.sql(sql)  # analysed here: the view's plan is part of the result
    finally:
        spark.catalog.dropTempView(view)
    added = ["pd", "score", "grade"] + ([c for c in scored.columns if c.startswith("points_")] if with_points else [])
    return scored.select(F.col(f"`{_ROW}`.*"), *[_col(c).alias(prefix + c) for c in added])


def local_session(master: str = "local[2]", conf: Mapping[str, str] | None = None):
    """A SparkSession on this machine (``master``), quiet and small: for trying lendscore.spark
    without a cluster, for the tests and the benchmarks. ``conf`` adds Spark settings (e.g.
    ``{"spark.driver.memory": "4g"}``). An existing session is reused (Spark's ``getOrCreate``)."""
    from pyspark.sql import SparkSession

    builder = (
        SparkSession.builder.master(master)
        .appName("lendscore")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
    )
    for key, value in (conf or {}).items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session

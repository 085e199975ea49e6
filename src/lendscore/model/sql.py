"""Export a fitted scorecard as one SQL query (DuckDB or SQLite), for scoring inside a database.

The query reproduces the Python scoring paths exactly:

- bins as in :meth:`lendscore.features.binning.FeatureBinning.bin_index` (numeric: right-open
  intervals between the splits, special codes -> bin k, NULL -> bin k + 1; categorical: the
  category's group, NULL -> k + 1, any other value -> k (Unseen));
- points per bin from the fitted lookup tables, rule points when both conditions hold;
- ``score`` as the sum of the points, added in the same order as Python adds them;
- ``grade`` from score cut-offs chosen so that the grade equals the one Python derives from the
  PD (a PD equal to a grade's upper bound belongs to that, the better, grade).

Numbers are written as ``repr(float)`` with an exponent (``1.5e0``): DuckDB reads a plain
``1.5`` as a DECIMAL, which would change the sums; with an exponent both DuckDB and SQLite read a
DOUBLE, correctly rounded, so scores match Python to the last bit or nearly so.
"""
from __future__ import annotations

import math

import numpy as np

from lendscore.errors import ConfigError
from lendscore.model.scaling import score_to_pd

__all__ = ["to_sql", "DIALECTS"]

DIALECTS = ("duckdb", "sqlite")
_TEXT = {"duckdb": "VARCHAR", "sqlite": "TEXT"}
_MAX_STEPS = 10_000  # floating-point steps searched around a grade's score cut-off


def quote_ident(name: str) -> str:
    """A double-quoted SQL identifier (works for names with dashes, spaces or quotes)."""
    return '"' + str(name).replace('"', '""') + '"'


def quote_str(value: str) -> str:
    """A single-quoted SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"


def float_literal(value: float) -> str:
    """A DOUBLE literal that round-trips exactly: ``repr(float)`` with an exponent."""
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"cannot write a non-finite number as an SQL literal; got {v!r}")
    r = repr(v)
    return r if "e" in r else r + "e0"


def _numeric_bin(col: str, b, dialect: str) -> str:
    k = b.n_bins - 2
    missing = f"{col} IS NULL"
    if dialect == "duckdb":  # a NaN that reached the table as a value, not as NULL
        missing += f" OR isnan(CAST({col} AS DOUBLE))"
    whens = [f"WHEN {missing} THEN {k + 1}"]
    if b.special_codes:
        codes = ", ".join(float_literal(c) for c in b.special_codes)
        whens.append(f"WHEN {col} IN ({codes}) THEN {k}")
    whens += [f"WHEN {col} < {float_literal(s)} THEN {i}" for i, s in enumerate(b.splits)]
    return "CASE " + " ".join(whens) + f" ELSE {k - 1} END"


def _categorical_bin(col: str, b, dialect: str) -> str:
    k = b.n_bins - 2
    text = f"CAST({col} AS {_TEXT[dialect]})"
    whens = [f"WHEN {col} IS NULL THEN {k + 1}"]
    for i, group in enumerate(b.categories):
        if group:
            whens.append(f"WHEN {text} IN ({', '.join(quote_str(c) for c in group)}) THEN {i}")
    return "CASE " + " ".join(whens) + f" ELSE {k} END"


def grade_score_cutoffs(model) -> list[float]:
    """Least score of each grade but the last, as Python grades it (PD from score, then bounds).

    The score at a PD bound, ``pd_to_score(bound)``, can sit a rounding error away from where
    Python's PD crosses the bound, so the cut-off is moved float by float to the least double
    whose PD (computed as :func:`lendscore.model.scaling.score_to_pd` does) is <= the bound.
    """
    sc = model.scaling_
    cutoffs = []
    for g in model.grades_[:-1]:
        bound = float(g["pd_max"])
        s = float(sc.offset + sc.factor * math.log((1.0 - bound) / bound))

        def ok(v: float) -> bool:
            return bool(score_to_pd(v, sc) <= bound)

        for _ in range(_MAX_STEPS):
            if ok(s):
                lower = float(np.nextafter(s, -np.inf))
                if not ok(lower):
                    break
                s = lower
            else:
                s = float(np.nextafter(s, np.inf))
        cutoffs.append(s)
    return cutoffs


def to_sql(model, table: str = "applicants", *, dialect: str = "duckdb",
           id_column: str | None = None) -> str:
    """One SELECT that scores every row of ``table`` (raw input columns) inside the database.

    Returns the id column (if given), ``points_<characteristic>`` for every characteristic (input
    characteristics, then rules), ``score`` (the sum of the points) and ``grade``.

    Parameters
    ----------
    model : a fitted :class:`lendscore.Scorecard`.
    table : the table (or view) holding the raw columns; quoted as one identifier.
    dialect : "duckdb" or "sqlite".
    id_column : a column passed through first, to join the scores back.
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(model, "coef_")
    if dialect not in DIALECTS:
        raise ConfigError(f"dialect must be one of {list(DIALECTS)}; got {dialect!r}")
    features = list(model.selected_features_)
    for r in model.rules_:
        features += [c for c in (r.feature_a, r.feature_b) if c not in features]
    alias = {c: quote_ident(f"__lendscore_bin_{i}") for i, c in enumerate(features)}
    id_sel = [quote_ident(id_column)] if id_column is not None else []

    bins = []
    for c in features:
        b = model.binnings_[c]
        expr = (_numeric_bin if b.kind == "numeric" else _categorical_bin)(quote_ident(c), b, dialect)
        bins.append(f"{expr} AS {alias[c]}")

    points = []
    for c in features[:len(model.selected_features_)]:
        lookup = model._lookup[c]
        whens = " ".join(f"WHEN {i} THEN {float_literal(p)}" for i, p in enumerate(lookup))
        points.append((f"points_{c}", f"CASE {alias[c]} {whens} END"))
    for r, on in zip(model.rules_, model._rule_points):
        cond = (f"{alias[r.feature_a]} IN ({', '.join(str(int(i)) for i in r.bins_a)}) AND "
                f"{alias[r.feature_b]} IN ({', '.join(str(int(i)) for i in r.bins_b)})")
        points.append((f"points_{r.name}", f"CASE WHEN {cond} THEN {float_literal(on)} ELSE 0e0 END"))

    score = " + ".join(quote_ident(name) for name, _ in points)
    letters = [g["grade"] for g in model.grades_]
    grade_whens = " ".join(f"WHEN {quote_ident('score')} >= {float_literal(s)} THEN {quote_str(g)}"
                           for g, s in zip(letters, grade_score_cutoffs(model)))
    grade = f"CASE {grade_whens} ELSE {quote_str(letters[-1])} END" if grade_whens else quote_str(letters[-1])

    nl = ",\n    "
    return (
        "WITH binned AS (\n  SELECT\n    "
        + nl.join(id_sel + bins)
        + f"\n  FROM {quote_ident(table)}\n), pointed AS (\n  SELECT\n    "
        + nl.join(id_sel + [f"{expr} AS {quote_ident(name)}" for name, expr in points])
        + "\n  FROM binned\n), scored AS (\n  SELECT\n    "
        + nl.join(id_sel + [quote_ident(name) for name, _ in points] + [f"{score} AS {quote_ident('score')}"])
        + "\n  FROM pointed\n)\nSELECT\n    "
        + nl.join(id_sel + [quote_ident(name) for name, _ in points] + [quote_ident("score"), f"{grade} AS {quote_ident('grade')}"])
        + "\nFROM scored"
    )

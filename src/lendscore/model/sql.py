"""Export a fitted scorecard as one SQL query that derives and scores raw applicant rows.

The query is one sqlglot expression tree (:mod:`sqlglot.expressions`), rendered for any of
:data:`DIALECTS` -- DuckDB, SQLite, PostgreSQL, Spark SQL, BigQuery, Snowflake and T-SQL -- by
``tree.sql(dialect=...)``: sqlglot writes each dialect's identifier quoting (double quotes are
string literals in Spark SQL and BigQuery, which get backticks; T-SQL brackets), escapes, type
names and functions. The few leaves whose *meaning* differs by engine (reading a missing value,
NaN, the parts of a date, today's date in UTC, typed numbers) are chosen in
:mod:`lendscore.model.sql_dialects`; the derivation's CTEs are built in
:mod:`lendscore.model.sql_derive`.

The query reads a table of **raw** applicant rows (the model file's declared raw fields, e.g.
Lending Club's ``issue_d``, ``earliest_cr_line``, ``loan_amnt``, ``int_rate``, ``term``,
``installment``, ``annual_inc``, ``dti``, plus the model inputs that are not derived), runs the
model file's declared derivation (:class:`lendscore.data.derivation.Derivation`: credit age,
instalment, monthly income, obligations, NTH, NTH share) inside the database, and reproduces the
Python scoring paths (``predict_proba``, ``score_details``, ``predict_one``):

- bins as in :meth:`lendscore.features.binning.FeatureBinning.bin_index` (numeric: NULL or NaN ->
  bin k + 1, the Missing bin, tested *before* any range comparison; special codes -> bin k; then
  right-open intervals between the splits; categorical: the category's group, NULL -> k + 1, any
  other value -> k, Unseen);
- points per bin from the scoring table (:class:`lendscore.model.table.ScoringTable`), rule
  points when both conditions hold;
- ``score`` as the sum of the points, added in the same order as Python adds them;
- ``pd`` = ``1 / (1 + exp((score - offset) / factor))``, as
  :func:`lendscore.model.scaling.score_to_pd`;
- ``grade`` from score cut-offs chosen so that the grade equals the one Python derives from the
  PD (a PD equal to a grade's upper bound belongs to that, the better, grade).

Derived columns (``credit_age_months``, ``nth``, ...) need not exist in the table: by default the
query reads only the declaration's raw fields and the non-derived model inputs. With ``columns``
(the table's columns, as the caller declares them) a raw field the table lacks reads as NULL and
a derived column it has serves as the given value. The **finances route** of the decision doors
is not exported.

Unlike Python, the SQL does not refuse bad values (a number outside its field's rule, an earliest
credit line after the application date, a date or number that cannot be read: most engines raise
a conversion error, SQLite reads an unreadable date as NULL and a non-numeric text as 0, a zero
term divides by zero): check the rows in Python first (``model.derive`` refuses them by field,
rule and value). Tables should be typed (numbers as numbers, dates as DATE, TIMESTAMP or ISO
text; T-SQL: not the legacy DATETIME, whose text is not ISO); only SQLite reads an empty text as
a missing number. Identifiers are quoted as the model names them, so they are case-sensitive
where the engine makes quoted names so (Snowflake and PostgreSQL: a column created unquoted is
upper or lower case there).

SQLite needs 3.35 or later (``AS MATERIALIZED``) and its math functions (``exp``, ``ln``, compiled
in with ``SQLITE_ENABLE_MATH_FUNCTIONS``, as in the SQLite Python usually ships; a connection may
register them: ``con.create_function("exp", 1, math.exp)``, ``"ln"`` likewise).

:func:`derive_sql` returns the derivation alone (the id and every derived field), e.g. to
materialise the model inputs in the database.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlglot import exp

from lendscore.errors import ConfigError
from lendscore.model.scaling import score_to_pd
from lendscore.model.sql_derive import ID, Plan, plan
from lendscore.model.sql_dialects import (
    CATEGORY,
    DIALECTS,
    NUMBER,
    TEXT,
    check_dialect,
    col,
    float_literal,
    ident,
    is_nan,
    num,
)

__all__ = ["to_sql", "derive_sql", "DIALECTS", "scoring_tree", "derive_tree"]

_MAX_STEPS = 10_000  # floating-point steps searched around a grade's score cut-off


def quote_ident(name: str, dialect: str = "duckdb") -> str:
    """An SQL identifier quoted for ``dialect`` (works for names with dashes, spaces or quotes)."""
    return ident(name).sql(dialect=dialect)


def quote_str(value: str, dialect: str = "duckdb") -> str:
    """A string literal escaped for ``dialect``."""
    return exp.Literal.string(str(value)).sql(dialect=dialect)


__all__ += ["float_literal", "quote_ident", "quote_str", "grade_score_cutoffs"]


def _with(select: exp.Select, p: Plan, extra: Sequence[tuple[str, exp.Select]] = (), materialize=frozenset()):
    for name, body in [*p.ctes, *extra]:
        select = select.with_(ident(name), as_=body, materialized=True if name in materialize else None, copy=False)
    return select


def derive_tree(
    spec,
    table: str | Sequence[str] = "applicants",
    *,
    dialect: str = "duckdb",
    id_column: str | None = None,
    columns: Sequence[str] | None = None,
    decision_date: Any = None,
) -> exp.Select:
    """The sqlglot tree of :func:`derive_sql`."""
    check_dialect(dialect)
    if not spec.derivation.operations:
        raise ConfigError("the model file declares no derivation: there is nothing to derive")
    p = plan(spec, [], table, dialect, id_column, columns, decision_date)
    out = [exp.alias_(col(ID), ident(id_column))] if id_column is not None else []
    out += [exp.alias_(col(alias), ident(name)) for name, alias in p.derived.items()]
    return _with(exp.select(*out).from_(exp.Table(this=ident(p.last))), p, materialize=p.materialize)


def derive_sql(spec, table: str | Sequence[str] = "applicants", *, dialect: str = "duckdb", **kw: Any) -> str:
    """One SELECT returning the id column (if given) and every output of ``spec.derivation``,
    derived inside the database from the raw rows of ``table`` (see the module docstring);
    keywords as :func:`to_sql`."""
    return derive_tree(spec, table, dialect=dialect, **kw).sql(dialect=dialect, pretty=True)


def _numeric_bin(c: exp.Expr, b, dialect: str) -> exp.Case:
    k = b.n_bins - 2
    missing: exp.Expr = exp.Is(this=c.copy(), expression=exp.null())
    nan = is_nan(c.copy(), dialect)  # a NaN computed on the way (a raw NaN is read as NULL already)
    if nan is not None:
        missing = exp.or_(missing, nan)
    case = exp.case().when(missing, exp.Literal.number(k + 1))
    if b.special_codes:
        case = case.when(exp.In(this=c.copy(), expressions=[num(v) for v in b.special_codes]), exp.Literal.number(k))
    for i, s in enumerate(b.splits):
        case = case.when(exp.LT(this=c.copy(), expression=num(s)), exp.Literal.number(i))
    return case.else_(exp.Literal.number(k - 1))


# a boolean column's categories as Python names them (str(True)) and as SQL engines write a
# BOOLEAN cast to text (DuckDB, PostgreSQL, Spark, Snowflake: 'true' / 'false')
_BOOLEAN_TEXT = {"True": "true", "False": "false"}


def _categorical_bin(c: exp.Expr, b) -> exp.Case:
    k = b.n_bins - 2
    text = exp.cast(c.copy(), TEXT)
    case = exp.case().when(exp.Is(this=c.copy(), expression=exp.null()), exp.Literal.number(k + 1))
    labels = {str(v) for group in b.categories for v in group}
    boolean = bool(labels) and labels <= set(_BOOLEAN_TEXT)  # a True/False column: match 'true' too
    for i, group in enumerate(b.categories):
        if group:
            texts = [str(v) for v in group]
            if boolean:
                texts += [_BOOLEAN_TEXT[t] for t in texts]
            case = case.when(
                exp.In(this=text.copy(), expressions=[exp.Literal.string(t) for t in texts]),
                exp.Literal.number(i),
            )
    return case.else_(exp.Literal.number(k))


def grade_score_cutoffs(model) -> list[float]:
    """Least score of each grade but the last, as Python grades it (PD from score, then bounds).

    The score at a PD bound, ``pd_to_score(bound)``, can sit a rounding error away from where
    Python's PD crosses the bound, so the cut-off is moved float by float to the least double
    whose PD (computed as :func:`lendscore.model.scaling.score_to_pd` does) is <= the bound.
    """
    sc = model.table_.scaling
    cutoffs = []
    for g in model.table_.grades[:-1]:
        bound = float(g["pd_max"])
        s = float(sc.offset + sc.factor * math.log((1.0 - bound) / bound))

        def ok(v: float, bound: float = bound) -> bool:
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


def _in(c: exp.Expr, bins) -> exp.In:
    return exp.In(this=c.copy(), expressions=[exp.Literal.number(int(i)) for i in sorted(bins)])


def scoring_tree(
    model,
    table: str | Sequence[str] = "applicants",
    *,
    dialect: str = "duckdb",
    id_column: str | None = None,
    columns: Sequence[str] | None = None,
    decision_date: Any = None,
) -> exp.Select:
    """The sqlglot tree of :func:`to_sql` (render it with ``.sql(dialect=dialect)``)."""
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(model, "coef_")
    check_dialect(dialect)
    table_ = model.table_  # the scoring table: bins, points, rules, scaling, grades
    features = table_.inputs
    kinds = [(c, NUMBER if model.binnings_[c].kind == "numeric" else CATEGORY) for c in features]
    p = plan(model.inputs_, kinds, table, dialect, id_column, columns, decision_date)
    alias = {c: f"__lendscore_bin_{i}" for i, c in enumerate(features)}
    names = [f"points_{ch.name}" for ch in table_.characteristics] + [f"points_{rt.name}" for rt in table_.rules]
    outputs = {"pd", "score", "grade", *names}
    if id_column is not None and id_column in outputs:
        raise ConfigError(f"id_column {id_column!r} would collide with an output column of the query")
    id_sel = [col(ID)] if id_column is not None else []

    bins = []
    for c in features:
        b = model.binnings_[c]
        case = _numeric_bin(p.refs[c], b, dialect) if b.kind == "numeric" else _categorical_bin(p.refs[c], b)
        bins.append(exp.alias_(case, ident(alias[c])))

    points: list[exp.Expr] = []
    for ch in table_.characteristics:
        case = exp.Case(this=col(alias[ch.name]))
        for i, v in enumerate(ch.points_list):
            case = case.when(exp.Literal.number(i), num(v))
        points.append(case)
    for rt in table_.rules:
        r = rt.rule
        cond = exp.and_(_in(col(alias[r.feature_a]), r.bins_a), _in(col(alias[r.feature_b]), r.bins_b))
        points.append(exp.case().when(cond, num(rt.points)).else_(num(0.0)))

    score: exp.Expr = col(names[0]) if names else num(0.0)
    for n in names[1:]:
        score = exp.Add(this=score, expression=col(n))
    letters = [g["grade"] for g in table_.grades]
    grade: exp.Expr = exp.Literal.string(letters[-1])
    if len(letters) > 1:
        case = exp.case()
        for g, s in zip(letters[:-1], grade_score_cutoffs(model), strict=True):
            case = case.when(exp.GTE(this=col("score"), expression=num(s)), exp.Literal.string(g))
        grade = case.else_(exp.Literal.string(letters[-1]))
    sc = table_.scaling
    z = exp.Div(this=exp.paren(exp.Sub(this=col("score"), expression=num(sc.offset))), expression=num(sc.factor))
    pd_ = exp.Div(this=num(1.0), expression=exp.paren(exp.Add(this=num(1.0), expression=exp.Exp(this=z))))

    def frm(name: str) -> exp.Table:
        return exp.Table(this=ident(name))

    extra = [
        ("binned", exp.select(*id_sel, *bins).from_(frm(p.last))),
        (
            "pointed",
            exp.select(
                *[c.copy() for c in id_sel], *(exp.alias_(e, ident(n)) for n, e in zip(names, points, strict=True))
            ).from_(frm("binned")),
        ),
        (
            "scored",
            exp.select(*[c.copy() for c in id_sel], *(col(n) for n in names), exp.alias_(score, ident("score"))).from_(
                frm("pointed")
            ),
        ),
    ]
    out = [exp.alias_(col(ID), ident(id_column))] if id_column is not None else []
    out += [exp.alias_(pd_, ident("pd")), col("score"), exp.alias_(grade, ident("grade")), *(col(n) for n in names)]
    # bins and score once per row, not once per CASE branch reading them
    materialize = p.materialize | ({"binned", "scored"} if p.materialize else frozenset())
    return _with(exp.select(*out).from_(frm("scored")), p, extra, materialize)


def to_sql(
    model,
    table: str | Sequence[str] = "applicants",
    *,
    dialect: str = "duckdb",
    id_column: str | None = None,
    columns: Sequence[str] | None = None,
    decision_date: Any = None,
) -> str:
    """One SELECT that derives and scores every raw applicant row of ``table`` inside the database.

    Returns the id column (if given), ``pd``, ``score`` (the sum of the points), ``grade`` and
    ``points_<characteristic>`` for every characteristic (input characteristics, then rules), the
    columns of :meth:`lendscore.Scorecard.score_details`.

    Parameters
    ----------
    model : a fitted :class:`lendscore.Scorecard`; its file's declared derivation runs in the SQL.
    table : the table (or view) holding the raw applicant rows: a name, quoted as one identifier
        (dots and spaces included), or its parts ``(schema, table)`` / ``(catalog, schema,
        table)``, each quoted (e.g. Spark's ``("db", "applicants")``).
    dialect : one of :data:`DIALECTS` ("duckdb", "sqlite", "postgres", "spark", "bigquery",
        "snowflake", "tsql").
    id_column : a column passed through first, to join the scores back.
    columns : the table's columns, if the caller wants to declare them: a raw field not among
        them reads as NULL, and a derived column among them (e.g. ``credit_age_months``) is used
        where its raw fields are missing. By default the query reads the declaration's raw fields
        and the model inputs it does not derive, and nothing else.
    decision_date : the date (``datetime.date`` or ISO text) an application without its
        application date is dated; default the database's current date (UTC), as Python's default.
    """
    tree = scoring_tree(
        model, table, dialect=dialect, id_column=id_column, columns=columns, decision_date=decision_date
    )
    return tree.sql(dialect=dialect, pretty=True)

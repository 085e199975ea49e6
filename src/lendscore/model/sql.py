"""Export a fitted scorecard as one SQL query (DuckDB or SQLite) that scores raw applicant rows.

The query reads a table of **raw** applicant rows (the model file's declared raw fields, e.g.
Lending Club's ``issue_d``, ``earliest_cr_line``, ``loan_amnt``, ``int_rate``, ``term``,
``installment``, ``annual_inc``, ``dti``, plus the model inputs that are not derived) and runs
the model file's declared derivation (:class:`lendscore.data.derivation.Derivation`) inside the
database before scoring. It reproduces the Python scoring paths (``predict_proba``,
``score_details``, ``predict_one``):

- the derivation, one CTE per operation (or a few for the instalment), each written by one SQL
  fragment per operation *type* from the declaration alone (field names come from the model file,
  never from a profile name). Row by row, an output takes the value of the first route that
  applies, as in :func:`lendscore.data.derivation.derive_columns`:

  * **raw fields**: credit age = whole calendar months from the earliest credit line to the
    application date, minus one when the application's day of month is earlier (the application
    date is the database's current date, in UTC, where it is NULL, or ``decision_date`` when
    given); instalment = the ``given`` column (e.g. ``installment``) when not NULL, else the
    amortisation of amount, annual rate and term (``amount / term`` at a zero rate); monthly
    income = annual / 12; obligations = dti / 100 * monthly income; NTH = income - obligations -
    instalment; NTH share = NTH / income (NULL where income is not positive);
  * **given value**: the output column itself, read only when the caller declares (``columns``)
    that the table has it;
  * else NULL (missing).

  The **finances route** (an application's dotted ``finances.*`` / ``loan.*`` fields, used by the
  decision doors) is not exported: the SQL scores applicant rows as a data file holds them.
  Derived columns (``credit_age_months``, ``nth``, ``nth_ratio``, ...) need not exist in the
  table: by default the query reads only the declaration's raw fields and the non-derived model
  inputs. With ``columns`` (the table's columns, as the caller declares them) a raw field the
  table lacks reads as NULL and a derived column it has serves as the given value.
- bins as in :meth:`lendscore.features.binning.FeatureBinning.bin_index` (numeric: right-open
  intervals between the splits, special codes -> bin k, NULL/NaN -> bin k + 1, the Missing bin;
  categorical: the category's group, NULL -> k + 1, any other value -> k (Unseen));
- points per bin from the fitted lookup tables, rule points when both conditions hold;
- ``score`` as the sum of the points, added in the same order as Python adds them;
- ``pd`` = ``1 / (1 + exp((score - offset) / factor))``, as
  :func:`lendscore.model.scaling.score_to_pd`;
- ``grade`` from score cut-offs chosen so that the grade equals the one Python derives from the
  PD (a PD equal to a grade's upper bound belongs to that, the better, grade).

Values are read by type, the same way in every dialect, so that a missing value always lands in
the Missing bin: numbers as DOUBLE (DuckDB: NaN counts as NULL; SQLite: text is converted to REAL
and an empty text is NULL -- a CSV imported with ``.import`` stores missing values as ``''``,
which SQLite would otherwise sort above every number, i.e. into the top bin); dates from their
first ten characters (``YYYY-MM-DD``, a time may follow; an empty text is NULL); categories as
text (SQLite: an empty text is NULL).

Unlike Python, the SQL does not refuse bad values (a number outside its field's rule, an earliest
credit line after the application date, a date or number that cannot be read: DuckDB raises a
conversion error for the last, SQLite reads an unreadable date as NULL and a non-numeric text as
0): check the rows in Python first (``model.derive`` refuses them by field, rule and value).

SQLite needs version 3.35 or later (``AS MATERIALIZED`` CTEs: without them SQLite copies each
derived expression into every place that reads it) and its math functions (``exp`` and ``ln``,
compiled in with ``SQLITE_ENABLE_MATH_FUNCTIONS``, as in the SQLite Python usually ships) for
``pd`` and for the instalment; without them the query fails with "no such function: exp" (a
connection may register them: ``con.create_function("exp", 1, math.exp)``, ``"ln"`` likewise).

:func:`derive_sql` returns the derivation alone (the id and every derived field), e.g. to
materialise the model inputs in the database.

Numbers are written as ``repr(float)`` with an exponent (``1.5e0``): DuckDB reads a plain
``1.5`` as a DECIMAL, which would change the sums; with an exponent both DuckDB and SQLite read a
DOUBLE, correctly rounded, so scores match Python to the last bit or nearly so. The instalment
uses ``log1p``/``expm1`` written with ``ln``/``exp`` in their accurate forms (Goldberg's and
Kahan's), so it agrees with :func:`lendscore.data.derive.emi` to a few units in the last place.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from lendscore.data.derivation import (
    CreditAgeMonths,
    ExistingObligations,
    InputSpec,
    Instalment,
    MonthlyIncome,
    NetTakeHome,
    NthShare,
)
from lendscore.errors import ConfigError
from lendscore.model.scaling import score_to_pd

__all__ = ["to_sql", "derive_sql", "DIALECTS"]

DIALECTS = ("duckdb", "sqlite")
_TEXT = {"duckdb": "VARCHAR", "sqlite": "TEXT"}
_DOUBLE = {"duckdb": "DOUBLE", "sqlite": "REAL"}
_MAX_STEPS = 10_000  # floating-point steps searched around a grade's score cut-off
_ID = "__lendscore_id"
_SOURCE = "applicant"
_NUMBER, _DATE, _CATEGORY = "number", "date", "category"


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


# ---------------------------------------------------------------------------- reading raw values
def _read(col: str, kind: str, dialect: str) -> str:
    """A raw column read by type (see the module docstring: missing is NULL in every dialect)."""
    if dialect == "duckdb":
        if kind == _NUMBER:
            return f"NULLIF(CAST({col} AS DOUBLE), CAST('NaN' AS DOUBLE))"
        if kind == _DATE:
            return f"CAST(NULLIF(substr(CAST({col} AS VARCHAR), 1, 10), '') AS DATE)"
        return col
    if kind == _NUMBER:
        return f"CAST(CASE WHEN typeof({col}) = 'text' AND trim({col}) = '' THEN NULL ELSE {col} END AS REAL)"
    if kind == _DATE:
        return f"date(NULLIF(substr({col}, 1, 10), ''))"
    return f"CASE WHEN typeof({col}) = 'text' AND {col} = '' THEN NULL ELSE {col} END"


def _null(kind: str, dialect: str) -> str:
    if dialect == "sqlite":
        return "NULL"
    return {_NUMBER: "CAST(NULL AS DOUBLE)", _DATE: "CAST(NULL AS DATE)"}.get(kind, "CAST(NULL AS VARCHAR)")


def _date_part(expr: str, part: str, dialect: str) -> str:
    if dialect == "duckdb":
        return f"{part}({expr})"
    start, length = {"year": (1, 4), "month": (6, 2), "day": (9, 2)}[part]
    return f"CAST(substr({expr}, {start}, {length}) AS INTEGER)"


def _today(decision_date: Any, dialect: str) -> str:
    """The date an application without its application date is dated."""
    if decision_date is None:
        if dialect == "duckdb":
            return "CAST(timezone('UTC', current_timestamp) AS DATE)"
        return "date('now')"
    from lendscore.data.derive import as_dates

    day = as_dates(decision_date, "decision_date")
    if day.size != 1 or np.isnat(day[0]):
        raise ConfigError(f"decision_date must be one date; got {decision_date!r}")
    text = str(day[0])
    return f"DATE {quote_str(text)}" if dialect == "duckdb" else quote_str(text)


# ---------------------------------------------------------------------------- the derivation
class _Derivation:
    """Builds the CTEs of a declared derivation and remembers which raw columns they read."""

    def __init__(self, dialect: str, available: Callable[[str], bool], decision_date: Any):
        self.dialect = dialect
        self.available = available
        self.decision_date = decision_date
        self.reads: dict[str, str] = {}  # raw column -> how it is read (number, date, category)
        self.derived: dict[str, str] = {}  # output -> its column in the CTEs (the latest one)
        self.helpers: set[str] = set()
        self.ctes: list[tuple[str, list[tuple[str, str]]]] = []

    # -- references, as derive_columns' num() / given() / _dates()
    def raw(self, name: str, kind: str) -> str:
        """A raw column of the table, read by type (a typed NULL when the table lacks it)."""
        if not self.available(name):
            return _null(kind, self.dialect)
        seen = self.reads.setdefault(name, kind)
        if seen != kind:
            raise ConfigError(f"column {name!r} would be read both as a {seen} and as a {kind}")
        return quote_ident(name)

    def num(self, name: str) -> str:
        """An earlier operation's output, else the raw column (as ``num`` in derive_columns)."""
        return quote_ident(self.derived[name]) if name in self.derived else self.raw(name, _NUMBER)

    def given(self, name: str) -> str:
        return self.raw(name, _NUMBER)

    def helper(self, step: int, name: str) -> str:
        alias = f"__lendscore_{step}_{name}"
        self.helpers.add(alias)
        return alias

    def add(self, step: int, op, layers: list[list[tuple[str, str]]]) -> None:
        """The CTEs of one operation: every layer but the last holds helper columns, the last
        one the output (registered only now: an operation reads the raw value of its own output)."""
        alias = f"__lendscore_{op.output}"
        if alias in self.derived.values() or alias in self.helpers:
            alias = f"__lendscore_{step}_{op.output}"
        self.helpers.add(alias)
        for i, layer in enumerate(layers):
            name = f"derive_{step}_{op.output}" + (f"_{i + 1}" if len(layers) > 1 else "")
            cols = list(layer)
            if i == len(layers) - 1:
                cols[-1] = (alias, cols[-1][1])
            self.ctes.append((name, cols))
        self.derived[op.output] = alias


def _present(*exprs: str) -> str:
    return " AND ".join(f"{e} IS NOT NULL" for e in exprs)


def _credit_age(op: CreditAgeMonths, d: _Derivation, step: int):
    app = d.helper(step, "application_date")
    when = _today(d.decision_date, d.dialect)
    a, f = quote_ident(app), d.raw(op.earliest_credit_line, _DATE)
    y, m, dd = (
        lambda e: _date_part(e, "year", d.dialect),
        lambda e: _date_part(e, "month", d.dialect),
        lambda e: _date_part(e, "day", d.dialect),
    )
    months = (
        f"CAST(({y(a)} - {y(f)}) * 12 + ({m(a)} - {m(f)}) - CASE WHEN {dd(a)} < {dd(f)} THEN 1 ELSE 0 END "
        f"AS {_DOUBLE[d.dialect]})"
    )
    given = d.given(op.output)
    return [
        [(app, f"COALESCE({d.raw(op.application_date, _DATE)}, {when})")],
        [(op.output, f"CASE WHEN {a} IS NOT NULL AND {f} IS NOT NULL THEN {months} ELSE {given} END")],
    ]


def _instalment(op: Instalment, d: _Derivation, step: int):
    """``given`` if not NULL, else emi(amount, rate, term) = amount * r / -expm1(-term * log1p(r))
    with r = rate / 12 (amount / term when r = 0), else the output's given value."""
    amount, rate, term = d.num(op.amount), d.num(op.annual_rate), d.num(op.term_months)
    have = d.given(op.given) if op.given else _null(_NUMBER, d.dialect)
    names = [d.helper(step, n) for n in ("r", "log1p_r", "x", "exp_x")]
    r, lp, x, u = (quote_ident(n) for n in names)
    one = float_literal(1.0)
    expm1 = (
        f"CASE WHEN {u} = {one} THEN {x} WHEN {u} - {one} = -{one} THEN -{one} ELSE ({u} - {one}) * {x} / ln({u}) END"
    )
    emi = f"CASE WHEN {r} = 0e0 THEN {amount} / {term} ELSE {amount} * {r} / (-({expm1})) END"
    value = (
        f"CASE WHEN {have} IS NOT NULL THEN {have} WHEN {_present(amount, r, term)} THEN {emi} "
        f"ELSE {d.given(op.output)} END"
    )
    return [
        [(names[0], f"{rate} / {float_literal(12.0)}")],  # as emi(): annual_rate / 12.0
        # log1p(r) (Goldberg): exact where 1 + r rounds to 1, else ln(1 + r) scaled by the rounding
        [
            (
                names[1],
                f"CASE WHEN {one} + {r} = {one} THEN {r} ELSE ln({one} + {r}) * {r} / (({one} + {r}) - {one}) END",
            )
        ],
        [(names[2], f"-({term} * {lp})")],
        [(names[3], f"exp({x})")],  # expm1(x) (Kahan) in the output's CASE
        [(op.output, value)],
    ]


def _monthly_income(op: MonthlyIncome, d: _Derivation, step: int):
    annual = d.num(op.annual_income)
    return [
        [
            (
                op.output,
                f"CASE WHEN {annual} IS NOT NULL THEN {annual} / {float_literal(12.0)} ELSE {d.given(op.output)} END",
            )
        ]
    ]


def _existing_obligations(op: ExistingObligations, d: _Derivation, step: int):
    dti, income = d.num(op.debt_to_income_percent), d.num(op.monthly_income)
    return [
        [
            (
                op.output,
                f"CASE WHEN {_present(dti, income)} THEN {dti} / {float_literal(100.0)} * {income} "
                f"ELSE {d.given(op.output)} END",
            )
        ]
    ]


def _net_take_home(op: NetTakeHome, d: _Derivation, step: int):
    inc, obl, ins = d.num(op.monthly_income), d.num(op.existing_obligations), d.num(op.instalment)
    return [
        [(op.output, f"CASE WHEN {_present(inc, obl, ins)} THEN {inc} - {obl} - {ins} ELSE {d.given(op.output)} END")]
    ]


def _nth_share(op: NthShare, d: _Derivation, step: int):
    nth, inc = d.num(op.nth), d.num(op.monthly_income)
    return [
        [
            (
                op.output,
                f"CASE WHEN {_present(nth, inc)} THEN CASE WHEN {inc} > 0e0 THEN {nth} / {inc} END "
                f"ELSE {d.given(op.output)} END",
            )
        ]
    ]


_FRAGMENTS: dict[type, Callable[[Any, _Derivation, int], list[list[tuple[str, str]]]]] = {
    CreditAgeMonths: _credit_age,
    Instalment: _instalment,
    MonthlyIncome: _monthly_income,
    ExistingObligations: _existing_obligations,
    NetTakeHome: _net_take_home,
    NthShare: _nth_share,
}
"""One SQL fragment per operation type of :mod:`lendscore.data.derivation`."""


def _check_dialect(dialect: str) -> None:
    if dialect not in DIALECTS:
        raise ConfigError(f"dialect must be one of {list(DIALECTS)}; got {dialect!r}")


def _available(spec: InputSpec, model_inputs: Sequence[str], columns: Sequence[str] | None) -> Callable[[str], bool]:
    """Which columns the table has: as declared by the caller, else the declaration's raw fields
    and the model inputs it does not derive (derived columns need not exist)."""
    if columns is not None:
        have = {str(c) for c in columns}
    else:
        outputs = set(spec.derivation.outputs)
        have = set(spec.derivation.raw_fields) | {c for c in model_inputs if c not in outputs}
    return have.__contains__


def _plan(
    spec: InputSpec,
    inputs: Sequence[tuple[str, str]],
    table: str,
    dialect: str,
    id_column: str | None,
    columns: Sequence[str] | None,
    decision_date: Any,
):
    """The CTEs reading ``table`` and deriving; returns (ctes, name of the last CTE, a reference
    to every model input in it)."""
    d = _Derivation(dialect, _available(spec, [n for n, _ in inputs], columns), decision_date)
    for step, op in enumerate(spec.derivation.operations, start=1):
        d.add(step, op, _FRAGMENTS[type(op)](op, d, step))
    refs = {}
    for name, kind in inputs:
        if name in d.derived:
            refs[name] = quote_ident(d.derived[name])
        elif not d.available(name):
            raise ConfigError(
                f"table {table!r} lacks the model input {name!r} (declared columns: "
                f"{sorted(map(str, columns or ()))}); the model derives only "
                f"{sorted(d.derived)}"
            )
        else:
            refs[name] = d.raw(name, kind)
    clash = sorted(set(d.reads) & (d.helpers | {_ID}))
    if clash:
        raise ConfigError(f"column {clash[0]!r} clashes with a name the exported SQL uses internally")
    source = [f"{quote_ident(id_column)} AS {quote_ident(_ID)}"] if id_column is not None else []
    source += [f"{_read(quote_ident(c), kind, dialect)} AS {quote_ident(c)}" for c, kind in d.reads.items()]
    if not source:
        source = [f"NULL AS {quote_ident('__lendscore_nothing')}"]
    ctes = [(_SOURCE, "SELECT\n    " + ",\n    ".join(source) + f"\n  FROM {quote_ident(table)}")]
    prev = _SOURCE
    for name, cols in d.ctes:
        sel = ",\n    ".join(f"{expr} AS {quote_ident(alias)}" for alias, expr in cols)
        ctes.append((name, f"SELECT\n    *,\n    {sel}\n  FROM {quote_ident(prev)}"))
        prev = name
    # SQLite flattens CTEs into the query that reads them, copying a column's expression into
    # every place that reads it: through the derivation's layers the copies multiply (seconds
    # for 20,000 rows). Materialised, each step is computed once per row. (DuckDB computes a
    # common expression once by itself.)
    materialized = frozenset(name for name, _ in d.ctes) if dialect == "sqlite" else frozenset()
    return ctes, prev, refs, d, materialized


def _with(ctes: list[tuple[str, str]], materialized: frozenset[str] = frozenset()) -> str:
    return "WITH " + ",\n".join(
        f"{quote_ident(n)} AS {'MATERIALIZED ' if n in materialized else ''}(\n  {body}\n)" for n, body in ctes
    )


def derive_sql(
    spec: InputSpec,
    table: str = "applicants",
    *,
    dialect: str = "duckdb",
    id_column: str | None = None,
    columns: Sequence[str] | None = None,
    decision_date: Any = None,
) -> str:
    """One SELECT returning the id column (if given) and every output of ``spec.derivation``,
    derived inside the database from the raw rows of ``table`` (see the module docstring)."""
    _check_dialect(dialect)
    if not spec.derivation.operations:
        raise ConfigError("the model file declares no derivation: there is nothing to derive")
    ctes, last, _, d, materialized = _plan(spec, [], table, dialect, id_column, columns, decision_date)
    out = [quote_ident(_ID) + " AS " + quote_ident(id_column)] if id_column is not None else []
    out += [f"{quote_ident(alias)} AS {quote_ident(name)}" for name, alias in d.derived.items()]
    return _with(ctes, materialized) + "\nSELECT\n    " + ",\n    ".join(out) + f"\nFROM {quote_ident(last)}"


def _numeric_bin(col: str, b, dialect: str) -> str:
    k = b.n_bins - 2
    missing = f"{col} IS NULL"
    if dialect == "duckdb":  # a NaN computed on the way (a raw NaN is read as NULL already)
        missing += f" OR isnan({col})"
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


def to_sql(
    model,
    table: str = "applicants",
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
    table : the table (or view) holding the raw applicant rows; quoted as one identifier.
    dialect : "duckdb" or "sqlite".
    id_column : a column passed through first, to join the scores back.
    columns : the table's columns, if the caller wants to declare them: a raw field not among
        them reads as NULL, and a derived column among them (e.g. ``credit_age_months``) is used
        where its raw fields are missing. By default the query reads the declaration's raw fields
        and the model inputs it does not derive, and nothing else.
    decision_date : the date (``datetime.date`` or ISO text) an application without its
        application date is dated; default the database's current date (UTC), as Python's default.
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(model, "coef_")
    _check_dialect(dialect)
    table_ = model.table_  # the scoring table: bins, points, rules, scaling, grades
    features = table_.inputs
    kinds = [(c, _NUMBER if model.binnings_[c].kind == "numeric" else _CATEGORY) for c in features]
    ctes, last, refs, _, materialized = _plan(model.inputs_, kinds, table, dialect, id_column, columns, decision_date)
    alias = {c: quote_ident(f"__lendscore_bin_{i}") for i, c in enumerate(features)}
    id_sel = [quote_ident(_ID)] if id_column is not None else []

    bins = []
    for c in features:
        b = model.binnings_[c]
        expr = (_numeric_bin if b.kind == "numeric" else _categorical_bin)(refs[c], b, dialect)
        bins.append(f"{expr} AS {alias[c]}")

    points = []
    for ch in table_.characteristics:
        whens = " ".join(f"WHEN {i} THEN {float_literal(p)}" for i, p in enumerate(ch.points_list))
        points.append((f"points_{ch.name}", f"CASE {alias[ch.name]} {whens} END"))
    for rt in table_.rules:
        r = rt.rule
        cond = (
            f"{alias[r.feature_a]} IN ({', '.join(str(int(i)) for i in r.bins_a)}) AND "
            f"{alias[r.feature_b]} IN ({', '.join(str(int(i)) for i in r.bins_b)})"
        )
        points.append((f"points_{rt.name}", f"CASE WHEN {cond} THEN {float_literal(rt.points)} ELSE 0e0 END"))

    score = " + ".join(quote_ident(name) for name, _ in points)
    letters = [g["grade"] for g in table_.grades]
    grade_whens = " ".join(
        f"WHEN {quote_ident('score')} >= {float_literal(s)} THEN {quote_str(g)}"
        for g, s in zip(letters[:-1], grade_score_cutoffs(model), strict=True)
    )
    grade = f"CASE {grade_whens} ELSE {quote_str(letters[-1])} END" if grade_whens else quote_str(letters[-1])
    sc = table_.scaling
    pd_ = (
        f"{float_literal(1.0)} / ({float_literal(1.0)} + exp(({quote_ident('score')} - "
        f"{float_literal(sc.offset)}) / {float_literal(sc.factor)}))"
    )

    nl = ",\n    "
    ctes += [
        ("binned", "SELECT\n    " + nl.join(id_sel + bins) + f"\n  FROM {quote_ident(last)}"),
        (
            "pointed",
            "SELECT\n    "
            + nl.join(id_sel + [f"{expr} AS {quote_ident(name)}" for name, expr in points])
            + "\n  FROM "
            + quote_ident("binned"),
        ),
        (
            "scored",
            "SELECT\n    "
            + nl.join(id_sel + [quote_ident(name) for name, _ in points] + [f"{score} AS {quote_ident('score')}"])
            + "\n  FROM "
            + quote_ident("pointed"),
        ),
    ]
    out = [f"{quote_ident(_ID)} AS {quote_ident(id_column)}"] if id_column is not None else []
    out += [f"{pd_} AS {quote_ident('pd')}", quote_ident("score"), f"{grade} AS {quote_ident('grade')}"]
    out += [quote_ident(name) for name, _ in points]
    if dialect == "sqlite":  # bins and score once per row, not once per CASE branch reading them
        materialized |= {"binned", "scored"}
    return _with(ctes, materialized) + "\nSELECT\n    " + nl.join(out) + "\nFROM " + quote_ident("scored")

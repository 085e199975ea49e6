"""The model file's declared derivation as sqlglot CTEs (one per operation, a few for the instalment).

Each operation *type* of :mod:`lendscore.data.derivation` has one fragment, written from the
declaration alone (field names come from the model file, never from a profile name). Row by row
an output takes the value of the first route that applies, as in
:func:`lendscore.data.derivation.derive_columns`:

* **raw fields**: credit age = whole calendar months from the earliest credit line to the
  application date, minus one when the application's day of month is earlier (the application
  date is ``decision_date`` where it is NULL, else the database's current date in UTC);
  instalment = the ``given`` column (e.g. ``installment``) when not NULL, else the amortisation
  of amount, annual rate and term (``amount / term`` at a zero rate); monthly income = annual /
  12; obligations = dti / 100 * monthly income; NTH = income - obligations - instalment; NTH
  share = NTH / income (NULL where income is not positive);
* **given value**: the output column itself, read only when the caller declares (``columns``)
  that the table has it;
* else NULL (missing).

The **finances route** (an application's dotted ``finances.*`` / ``loan.*`` fields, used by the
decision doors) is not exported: the SQL scores applicant rows as a data file holds them.

The instalment writes ``log1p``/``expm1`` with ``LN``/``EXP`` in their accurate forms (Goldberg's
and Kahan's) because no function of that kind is common to the seven dialects; it agrees with
:func:`lendscore.data.derive.emi` to a few units in the last place.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp

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
from lendscore.model.sql_dialects import DATE, NUMBER, col, date_part, ident, null, num, read, today

__all__ = ["Plan", "plan", "table_node"]

ID = "__lendscore_id"
SOURCE = "applicant"
Layer = list[tuple[str, exp.Expr]]


def _present(*es: exp.Expr) -> exp.Expr:
    return exp.and_(*(exp.Not(this=exp.Is(this=e.copy(), expression=exp.null())) for e in es))


def _case(cond: exp.Expr, then: exp.Expr, else_: exp.Expr | None = None) -> exp.Case:
    c = exp.case().when(cond, then)
    return c.else_(else_) if else_ is not None else c


class _Derivation:
    """Builds the CTE layers of a declared derivation and remembers which raw columns they read."""

    def __init__(self, dialect: str, available: Callable[[str], bool], decision_date: Any):
        self.dialect = dialect
        self.available = available
        self.decision_date = decision_date
        self.reads: dict[str, str] = {}  # raw column -> how it is read (number, date, category)
        self.derived: dict[str, str] = {}  # output -> its column in the CTEs (the latest one)
        self.helpers: set[str] = set()
        self.ctes: list[tuple[str, Layer]] = []

    def raw(self, name: str, kind: str) -> exp.Expr:
        """A raw column of the table, read by type (a typed NULL when the table lacks it)."""
        if not self.available(name):
            return null(kind)
        seen = self.reads.setdefault(name, kind)
        if seen != kind:
            raise ConfigError(f"column {name!r} would be read both as a {seen} and as a {kind}")
        return col(name)

    def num(self, name: str) -> exp.Expr:
        """An earlier operation's output, else the raw column (as ``num`` in derive_columns)."""
        return col(self.derived[name]) if name in self.derived else self.raw(name, NUMBER)

    def given(self, name: str) -> exp.Expr:
        return self.raw(name, NUMBER)

    def helper(self, step: int, name: str) -> str:
        alias = f"__lendscore_{step}_{name}"
        self.helpers.add(alias)
        return alias

    def add(self, step: int, output: str, layers: list[Layer]) -> None:
        """The CTEs of one operation: every layer but the last holds helper columns, the last
        one the output (registered only now: an operation reads the raw value of its own output)."""
        alias = f"__lendscore_{output}"
        if alias in self.derived.values() or alias in self.helpers:
            alias = f"__lendscore_{step}_{output}"
        self.helpers.add(alias)
        for i, layer in enumerate(layers):
            name = f"derive_{step}_{output}" + (f"_{i + 1}" if len(layers) > 1 else "")
            cols = list(layer)
            if i == len(layers) - 1:
                cols[-1] = (alias, cols[-1][1])
            self.ctes.append((name, cols))
        self.derived[output] = alias


def _credit_age(op: CreditAgeMonths, d: _Derivation, step: int) -> list[Layer]:
    app_name = d.helper(step, "application_date")
    a, f = col(app_name), d.raw(op.earliest_credit_line, DATE)

    def part(e: exp.Expr, p: str) -> exp.Expr:
        return date_part(e, p, d.dialect)

    years = exp.Sub(this=part(a, "year"), expression=part(f, "year"))
    months = exp.Sub(this=part(a, "month"), expression=part(f, "month"))
    earlier = _case(
        exp.LT(this=part(a, "day"), expression=part(f, "day")), exp.Literal.number(1), exp.Literal.number(0)
    )
    total = exp.Sub(
        this=exp.Add(
            this=exp.Mul(this=exp.paren(years), expression=exp.Literal.number(12)), expression=exp.paren(months)
        ),
        expression=earlier,
    )
    value = _case(_present(a, f), exp.cast(total, "DOUBLE"), d.given(op.output))
    application = exp.func("COALESCE", d.raw(op.application_date, DATE), today(d.decision_date, d.dialect))
    return [[(app_name, application)], [(op.output, value)]]


def _instalment(op: Instalment, d: _Derivation, step: int) -> list[Layer]:
    """``given`` if not NULL, else emi(amount, rate, term) = amount * r / -expm1(-term * log1p(r))
    with r = rate / 12 (amount / term when r = 0), else the output's given value."""
    amount, rate, term = d.num(op.amount), d.num(op.annual_rate), d.num(op.term_months)
    have = d.given(op.given) if op.given else null(NUMBER)
    names = [d.helper(step, n) for n in ("r", "log1p_r", "x", "exp_x")]
    r, lp, x, u = (col(n) for n in names)
    one = num(1.0)

    def sub(a: exp.Expr, b: exp.Expr) -> exp.Expr:
        return exp.paren(exp.Sub(this=a.copy(), expression=b.copy()))

    def div(a: exp.Expr, b: exp.Expr) -> exp.Expr:
        return exp.Div(this=a.copy(), expression=b.copy())

    # log1p(r) (Goldberg): exact where 1 + r rounds to 1, else ln(1 + r) scaled by the rounding
    one_r = exp.paren(exp.Add(this=one.copy(), expression=r.copy()))
    log1p = _case(
        exp.EQ(this=one_r.copy(), expression=one.copy()),
        r.copy(),
        div(exp.Mul(this=exp.Ln(this=one_r.copy()), expression=r.copy()), sub(one_r, one)),
    )
    # expm1(x) (Kahan): x where exp(x) rounds to 1, -1 where it underflows, else (u - 1) * x / ln(u)
    expm1 = (
        exp.case()
        .when(exp.EQ(this=u.copy(), expression=one.copy()), x.copy())
        .when(exp.EQ(this=sub(u, one), expression=exp.Neg(this=one.copy())), exp.Neg(this=one.copy()))
        .else_(div(exp.Mul(this=sub(u, one), expression=x.copy()), exp.Ln(this=u.copy())))
    )
    emi = _case(
        exp.EQ(this=r.copy(), expression=num(0.0)),
        div(amount, term),
        div(exp.Mul(this=amount.copy(), expression=r.copy()), exp.Neg(this=exp.paren(expm1))),
    )
    value = exp.case().when(_present(have), have.copy()).when(_present(amount, r, term), emi).else_(d.given(op.output))
    return [
        [(names[0], div(rate, num(12.0)))],  # as emi(): annual_rate / 12.0
        [(names[1], log1p)],
        [(names[2], exp.Neg(this=exp.paren(exp.Mul(this=term.copy(), expression=lp.copy()))))],
        [(names[3], exp.Exp(this=x.copy()))],
        [(op.output, value)],
    ]


def _monthly_income(op: MonthlyIncome, d: _Derivation, step: int) -> list[Layer]:
    annual = d.num(op.annual_income)
    return [
        [(op.output, _case(_present(annual), exp.Div(this=annual.copy(), expression=num(12.0)), d.given(op.output)))]
    ]


def _existing_obligations(op: ExistingObligations, d: _Derivation, step: int) -> list[Layer]:
    dti, income = d.num(op.debt_to_income_percent), d.num(op.monthly_income)
    value = exp.Mul(this=exp.Div(this=dti.copy(), expression=num(100.0)), expression=income.copy())
    return [[(op.output, _case(_present(dti, income), value, d.given(op.output)))]]


def _net_take_home(op: NetTakeHome, d: _Derivation, step: int) -> list[Layer]:
    inc, obl, ins = d.num(op.monthly_income), d.num(op.existing_obligations), d.num(op.instalment)
    value = exp.Sub(this=exp.Sub(this=inc.copy(), expression=obl.copy()), expression=ins.copy())
    return [[(op.output, _case(_present(inc, obl, ins), value, d.given(op.output)))]]


def _nth_share(op: NthShare, d: _Derivation, step: int) -> list[Layer]:
    nth, inc = d.num(op.nth), d.num(op.monthly_income)
    share = _case(exp.GT(this=inc.copy(), expression=num(0.0)), exp.Div(this=nth.copy(), expression=inc.copy()))
    return [[(op.output, _case(_present(nth, inc), share, d.given(op.output)))]]


_FRAGMENTS: dict[type, Callable[[Any, _Derivation, int], list[Layer]]] = {
    CreditAgeMonths: _credit_age,
    Instalment: _instalment,
    MonthlyIncome: _monthly_income,
    ExistingObligations: _existing_obligations,
    NetTakeHome: _net_take_home,
    NthShare: _nth_share,
}
"""One fragment per operation type of :mod:`lendscore.data.derivation`."""


def _available(spec: InputSpec, model_inputs: Sequence[str], columns: Sequence[str] | None) -> Callable[[str], bool]:
    """Which columns the table has: as declared by the caller, else the declaration's raw fields
    and the model inputs it does not derive (derived columns need not exist)."""
    if columns is not None:
        have = {str(c) for c in columns}
    else:
        outputs = set(spec.derivation.outputs)
        have = set(spec.derivation.raw_fields) | {c for c in model_inputs if c not in outputs}
    return have.__contains__


def table_node(table: str | Sequence[str]) -> exp.Table:
    """The table read: one name (quoted as one identifier, dots and spaces included), or its
    parts (``(schema, table)`` or ``(catalog, schema, table)``), each quoted."""
    parts = [table] if isinstance(table, str) else [str(p) for p in table]
    if not 1 <= len(parts) <= 3 or not all(parts):
        raise ConfigError(f"table must be a name or (schema, table) or (catalog, schema, table); got {table!r}")
    names = dict(zip(("this", "db", "catalog"), (ident(p) for p in reversed(parts)), strict=False))
    return exp.Table(**names)


@dataclass
class Plan:
    """The CTEs reading the table and deriving, in order (name, SELECT), and a reference to every
    model input (and every derived output) in the last of them."""

    ctes: list[tuple[str, exp.Select]]
    last: str
    refs: dict[str, exp.Expr]
    derived: dict[str, str] = field(default_factory=dict)
    materialize: frozenset[str] = frozenset()


def plan(
    spec: InputSpec,
    inputs: Sequence[tuple[str, str]],
    table: str | Sequence[str],
    dialect: str,
    id_column: str | None,
    columns: Sequence[str] | None,
    decision_date: Any,
) -> Plan:
    d = _Derivation(dialect, _available(spec, [n for n, _ in inputs], columns), decision_date)
    for step, op in enumerate(spec.derivation.operations, start=1):
        d.add(step, op.output, _FRAGMENTS[type(op)](op, d, step))
    refs: dict[str, exp.Expr] = {}
    for name, kind in inputs:
        if name in d.derived:
            refs[name] = col(d.derived[name])
        elif not d.available(name):
            raise ConfigError(
                f"table {table!r} lacks the model input {name!r} (declared columns: "
                f"{sorted(map(str, columns or ()))}); the model derives only {sorted(d.derived)}"
            )
        else:
            refs[name] = d.raw(name, kind)
    clash = sorted(set(d.reads) & (d.helpers | {ID}))
    if clash:
        raise ConfigError(f"column {clash[0]!r} clashes with a name the exported SQL uses internally")
    source: list[exp.Expr] = [exp.alias_(col(id_column), ident(ID))] if id_column is not None else []
    source += [exp.alias_(read(col(c), kind, dialect), ident(c)) for c, kind in d.reads.items()]
    if not source:
        source = [exp.alias_(exp.null(), ident("__lendscore_nothing"))]
    ctes = [(SOURCE, exp.select(*source).from_(table_node(table)))]
    prev = SOURCE
    for name, cols in d.ctes:
        sel = [exp.alias_(e, ident(a)) for a, e in cols]
        ctes.append((name, exp.select(exp.Star(), *sel).from_(exp.Table(this=ident(prev)))))
        prev = name
    # SQLite (and PostgreSQL 12+, a CTE read once) flatten a CTE into the query reading it,
    # copying a column's expression into every place that reads it: through the derivation's
    # layers the copies multiply (seconds for 20,000 rows in SQLite). Materialised, each step is
    # computed once per row. (DuckDB and Spark compute a common expression once by themselves.)
    materialize = frozenset(n for n, _ in d.ctes) if dialect in ("sqlite", "postgres") else frozenset()
    return Plan(ctes, prev, refs, dict(d.derived), materialize)

"""Pure functions that derive applicant features: EMI, credit age, net take-home pay (NTH).

Conventions:

- ``annual_rate`` is a nominal annual rate as a **fraction** (0.12 = 12 %), compounded monthly:
  the monthly rate is ``annual_rate / 12``.
- Terms and ages are in **months**. Money is in the data's currency; income and obligations are
  **per month**.
- NTH (net take-home after the new loan) = monthly income - existing obligations - new EMI.
  ``nth_ratio`` = NTH / monthly income (share of income left after all debt service; NaN where
  income is not positive).

All functions are vectorised: they accept scalars, numpy arrays or pandas Series, and return a
Series (same index) when the first argument is a Series, else a numpy array or float. NaN in, NaN out.
"""

from __future__ import annotations

import datetime as _dt
import math
from typing import Any

import numpy as np
import pandas as pd

from lendscore.errors import DataError

__all__ = [
    "annuity_factor",
    "instalment_one",
    "emi",
    "credit_age_months",
    "net_take_home",
    "nth_share_of_income",
    "as_dates",
]

ArrayLike = Any  # scalar, numpy array or pandas Series


def _wrap(result: np.ndarray, like: ArrayLike, name: str) -> ArrayLike:
    if isinstance(like, pd.Series):
        return pd.Series(result, index=like.index, name=name)
    if np.ndim(result) == 0:
        return float(result)
    return result


def emi(principal: ArrayLike, annual_rate: ArrayLike, term_months: ArrayLike) -> ArrayLike:
    """Equated monthly instalment of a fully amortising loan.

    ``emi = P * r * (1 + r)**n / ((1 + r)**n - 1)`` with ``r = annual_rate / 12`` and ``n`` the
    term in months; when ``r == 0`` it is ``P / n``. Raises ``DataError`` if a term is not
    positive or a rate or principal is negative (NaN values pass through as NaN).
    """
    p = np.asarray(principal, dtype=float)
    r = np.asarray(annual_rate, dtype=float) / 12.0
    n = np.asarray(term_months, dtype=float)
    for label, arr, bad in (
        ("term_months", n, n <= 0),
        ("annual_rate", r, r < 0),
        ("principal", p, p < 0),
    ):
        if np.any(bad):
            first = arr[bad].ravel()[0] * (12 if label == "annual_rate" else 1)
            raise DataError(
                f"{label} must be {'> 0' if label == 'term_months' else '>= 0'}; "
                f"got {first:g} in {int(np.sum(bad))} values",
                column=label,
            )
    zero = r == 0
    r_safe = np.where(zero, 1.0, r)
    # p * r / (1 - (1 + r)**-n), with expm1/log1p so that tiny rates do not cancel to 0/0.
    discount = -np.expm1(-n * np.log1p(r_safe))
    with np.errstate(divide="ignore", invalid="ignore"):
        amortised = p * r_safe / discount
        flat = p / n
    return _wrap(np.where(zero, flat, amortised), principal, "emi")


def annuity_factor(r: float, term_months: float) -> float:
    """``1 - (1 + r)^-n`` for a monthly rate ``r > 0`` over ``n`` months (accurate for small ``r``).

    The instalment is ``amount * r / factor`` and the principal ``instalment * factor / r``.
    """
    return -math.expm1(-term_months * math.log1p(r))


def instalment_one(amount: float, annual_rate: float, term_months: float) -> float:
    """:func:`emi` of one loan in plain floats (the affordability check's and the decision
    path's instalment, to the bit). ``tests/test_derivation.py`` compares it with :func:`emi`,
    whose numpy log1p/expm1 may differ from the C library's in the last bit."""
    r = annual_rate / 12.0
    if r == 0.0:
        return amount / term_months
    return amount * r / annuity_factor(r, term_months)


ISO_DATE_RULE = "must be an ISO date (YYYY-MM-DD)"


def _iso_day(v: Any) -> Any:
    if v is None or v is pd.NaT or (isinstance(v, float) and v != v):
        return "NaT"
    if isinstance(v, str):
        return v[:10] if len(v) > 10 and v[10] in "T " else v
    if isinstance(v, pd.Timestamp):
        return v.date()
    if isinstance(v, (_dt.date, np.datetime64)):
        return v
    return "not a date"  # numbers and other objects are never read as dates


def as_dates(values: ArrayLike, label: str) -> np.ndarray:
    """Dates as ``datetime64[D]`` (NaT where missing). Accepts datetimes, ``datetime.date`` and
    ISO text (``2011-12-01``, with an optional time); anything else raises ``DataError`` naming
    ``label`` and the first value it could not read (numpy parses: the same rule for one value
    and for a column)."""
    arr = np.atleast_1d(np.asarray(values.to_numpy() if isinstance(values, pd.Series) else values))
    if arr.dtype.kind == "M":
        return arr.astype("datetime64[D]")
    days = [_iso_day(v) for v in arr.ravel()]
    try:
        return np.array(days, dtype="datetime64[D]").reshape(arr.shape)
    except (ValueError, TypeError):
        pass
    for i, v in enumerate(days):
        try:
            np.datetime64(v, "D")
        except (ValueError, TypeError) as e:
            raw = arr.ravel()[i]
            where = f" (first: row {i})" if arr.size > 1 else ""
            raise DataError(f"{label} {ISO_DATE_RULE}; got {raw!r}{where}", column=label, rule=ISO_DATE_RULE) from e
    raise DataError(f"{label} {ISO_DATE_RULE}", column=label, rule=ISO_DATE_RULE)  # pragma: no cover


def credit_age_months(application_date: ArrayLike, earliest_credit_line: ArrayLike) -> ArrayLike:
    """Whole months from the earliest credit line to the application date.

    Counts calendar months, minus one when the day of month of the application is before that of
    the credit line (2011-12-01 vs 2003-01-01 gives 107). Negative when the line opened after the
    application (the quality checks reject such rows). Accepts datetimes or ISO date strings.
    """
    app = as_dates(application_date, "application_date")
    first = as_dates(earliest_credit_line, "earliest_credit_line")
    app_m, first_m = app.astype("datetime64[M]"), first.astype("datetime64[M]")
    months = (app_m - first_m).astype("int64").astype(float)
    day_a = (app - app_m.astype("datetime64[D]")).astype("int64")
    day_f = (first - first_m.astype("datetime64[D]")).astype("int64")
    result = months - (day_a < day_f)
    result[np.isnat(app) | np.isnat(first)] = np.nan
    if np.ndim(application_date) == 0 and np.ndim(earliest_credit_line) == 0:
        return float(result[0])
    return _wrap(result, application_date, "credit_age_months")


def net_take_home(monthly_income: ArrayLike, existing_obligations: ArrayLike, new_emi: ArrayLike) -> ArrayLike:
    """NTH = monthly income - existing monthly obligations - new monthly instalment."""
    result = (
        np.asarray(monthly_income, dtype=float)
        - np.asarray(existing_obligations, dtype=float)
        - np.asarray(new_emi, dtype=float)
    )
    return _wrap(result, monthly_income, "nth")


def nth_share_of_income(nth: ArrayLike, monthly_income: ArrayLike) -> ArrayLike:
    """NTH / monthly income; NaN where income is missing, zero or negative (never divides by 0)."""
    num = np.asarray(nth, dtype=float)
    inc = np.asarray(monthly_income, dtype=float)
    ok = inc > 0
    result = np.where(ok, num / np.where(ok, inc, 1.0), np.nan)
    return _wrap(result, nth, "nth_ratio")

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

from typing import Any

import numpy as np
import pandas as pd

from lendscore.errors import DataError

__all__ = [
    "lending_club_features_one",
    "emi",
    "credit_age_months",
    "net_take_home",
    "nth_share_of_income",
    "lending_club_nth",
    "lending_club_features",
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


def _as_datetime(values: ArrayLike, label: str) -> pd.DatetimeIndex:
    try:
        return pd.DatetimeIndex(pd.to_datetime(np.atleast_1d(np.asarray(values)), format="ISO8601"))
    except (ValueError, TypeError) as e:
        raise DataError(f"{label} must hold dates; could not parse them: {e}", column=label) from e


def credit_age_months(application_date: ArrayLike, earliest_credit_line: ArrayLike) -> ArrayLike:
    """Whole months from the earliest credit line to the application date.

    Counts calendar months, minus one when the day of month of the application is before that of
    the credit line (2011-12-01 vs 2003-01-01 gives 107). Negative when the line opened after the
    application (the quality checks reject such rows). Accepts datetimes or ISO date strings.
    """
    app = _as_datetime(application_date, "application_date")
    first = _as_datetime(earliest_credit_line, "earliest_credit_line")
    months = (app.year - first.year) * 12 + (app.month - first.month) - (app.day < first.day)
    result = np.asarray(months, dtype=float)
    result[np.asarray(app.isna() | first.isna())] = np.nan
    if np.ndim(application_date) == 0 and np.ndim(earliest_credit_line) == 0:
        return float(result[0])
    return _wrap(result, application_date, "credit_age_months")


def net_take_home(
    monthly_income: ArrayLike, existing_obligations: ArrayLike, new_emi: ArrayLike
) -> ArrayLike:
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


def lending_club_nth(
    annual_inc: pd.Series, dti: pd.Series, installment: pd.Series
) -> pd.DataFrame:
    """Affordability columns for Lending Club rows.

    monthly income = ``annual_inc / 12``; existing obligations = ``dti / 100 * monthly income``
    (LC ``dti`` is a percentage, excluding mortgage and the new loan); new EMI = ``installment``.
    Returns columns ``monthly_income, existing_obligations, new_emi, nth, nth_ratio``.
    """
    monthly_income = annual_inc.astype(float) / 12.0
    obligations = dti.astype(float) / 100.0 * monthly_income
    new_emi = installment.astype(float)
    nth = net_take_home(monthly_income, obligations, new_emi)
    return pd.DataFrame(
        {
            "monthly_income": monthly_income,
            "existing_obligations": obligations,
            "new_emi": new_emi,
            "nth": nth,
            "nth_ratio": nth_share_of_income(nth, monthly_income),
        },
        index=annual_inc.index,
    )


def lending_club_features(df: pd.DataFrame, *, time_column: str = "issue_d") -> pd.DataFrame:
    """Lending Club model features: ``credit_age_months`` (replacing ``earliest_cr_line``, measured
    to ``time_column``), ``nth`` and ``nth_ratio``. The new EMI is ``installment``, or
    ``emi(loan_amnt, int_rate, term)`` when the column is absent. Returns a new frame."""
    out = df.copy()
    if "earliest_cr_line" in out.columns and time_column in out.columns:
        age = credit_age_months(out[time_column], out["earliest_cr_line"])
        out = out.drop(columns=["earliest_cr_line"])
        out["credit_age_months"] = age
    if {"annual_inc", "dti"} <= set(out.columns):
        if "installment" in out.columns:
            instalment = out["installment"]
        else:
            instalment = emi(out["loan_amnt"], out["int_rate"], out["term"])
        nth = lending_club_nth(out["annual_inc"], out["dti"], instalment)
        out["nth"] = nth["nth"]
        out["nth_ratio"] = nth["nth_ratio"]
    return out


def _num(v) -> float | None:
    if v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if f != f else f


def lending_club_features_one(applicant: dict, *, today: "dt.date | None" = None) -> dict:
    """:func:`lending_club_features` for one applicant given as a dict (the service's path).

    Fills ``nth``, ``nth_ratio`` and ``credit_age_months`` when they are absent and their inputs
    are present, with the same formulas and operation order as the vectorised version, so a
    dict scores exactly as a row. The application date is ``issue_d`` when given, else ``today``.
    """
    import datetime as dt

    out = dict(applicant)
    if out.get("nth") is None:
        inc, dti, emi_ = _num(out.get("annual_inc")), _num(out.get("dti")), _num(out.get("installment"))
        if inc is not None and dti is not None and emi_ is not None:
            monthly = inc / 12.0
            nth = monthly - dti / 100.0 * monthly - emi_
            out["nth"] = nth
            out["nth_ratio"] = nth / monthly if monthly > 0 else None
    if out.get("credit_age_months") is None and out.get("earliest_cr_line"):
        first = dt.date.fromisoformat(str(out["earliest_cr_line"])[:10])
        app = dt.date.fromisoformat(str(out["issue_d"])[:10]) if out.get("issue_d") else (today or dt.date.today())
        out["credit_age_months"] = float((app.year - first.year) * 12 + (app.month - first.month)
                                         - (app.day < first.day))
    return out

"""Calibration of predicted PD against observed default rates.

- :func:`calibration_by_group`: per group (usually a rating grade), the mean predicted PD, the observed
  event rate and a two-sided exact binomial test of the number of events against ``n * mean PD``.
- :func:`hosmer_lemeshow`: the Hosmer-Lemeshow goodness-of-fit test on groups of equal size
  ("deciles of risk").

Event = default = 1 (see docs/architecture.md).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats

from lendscore.errors import ConfigError, DataError
from lendscore.validation.metrics import check_target_and_pd

__all__ = ["HosmerLemeshowResult", "calibration_by_group", "hosmer_lemeshow"]


class HosmerLemeshowResult(NamedTuple):
    """Hosmer-Lemeshow statistic, its degrees of freedom (groups - 2) and the chi-square p-value."""

    statistic: float
    df: int
    p_value: float


def calibration_by_group(y: ArrayLike, p: ArrayLike, groups: ArrayLike, *, alpha: float = 0.05) -> pd.DataFrame:
    """Predicted against observed default rate per group, with an exact binomial test.

    Parameters
    ----------
    y, p
        Outcome (event = 1) and predicted PD.
    groups
        Group label per row (e.g. the grade). An ordered categorical keeps its order;
        other labels are sorted. Missing labels are refused.
    alpha
        Significance level of ``flag``.

    Returns
    -------
    DataFrame
        One row per non-empty group, columns ``group, n, n_event, predicted_pd`` (mean PD),
        ``observed_rate``, ``binomial_p_value`` (two-sided exact test of ``n_event`` against
        Binomial(n, predicted_pd), :func:`scipy.stats.binomtest`) and ``flag``
        (True when ``binomial_p_value < alpha``: the group is miscalibrated at that level).
    """
    if not 0.0 < alpha < 1.0:
        raise ConfigError(f"alpha must be in (0, 1); got {alpha!r}")
    g = pd.Series(groups)
    y_arr = np.asarray(y).ravel()
    if len(g) != y_arr.size:
        raise DataError(
            f"groups must have one label per row; got {len(g)} labels for {y_arr.size} rows", column="groups"
        )
    missing = np.flatnonzero(g.isna().to_numpy())
    if missing.size:
        raise DataError(
            f"groups must have no missing labels; got {missing.size} (first: row {missing[0]})", column="groups"
        )
    y_arr, p_arr = check_target_and_pd(y_arr, p, both_classes=False)
    frame = pd.DataFrame({"group": g.to_numpy(), "y": y_arr.astype(np.int64), "p": p_arr})
    if isinstance(g.dtype, pd.CategoricalDtype):
        frame["group"] = pd.Categorical(frame["group"], categories=g.cat.categories, ordered=g.cat.ordered)
    grouped = frame.groupby("group", sort=True, observed=True)
    agg = grouped.agg(n=("y", "size"), n_event=("y", "sum"), predicted_pd=("p", "mean")).reset_index()
    agg["observed_rate"] = agg["n_event"] / agg["n"]
    agg["binomial_p_value"] = [
        float(stats.binomtest(int(k), int(n), float(min(max(q, 0.0), 1.0))).pvalue)
        for k, n, q in zip(agg["n_event"], agg["n"], agg["predicted_pd"], strict=True)
    ]
    agg["flag"] = agg["binomial_p_value"] < alpha
    agg["n"] = agg["n"].astype(np.int64)
    agg["n_event"] = agg["n_event"].astype(np.int64)
    return agg[["group", "n", "n_event", "predicted_pd", "observed_rate", "binomial_p_value", "flag"]]


def hosmer_lemeshow(y: ArrayLike, p: ArrayLike, n_groups: int = 10) -> HosmerLemeshowResult:
    """Hosmer-Lemeshow goodness-of-fit test of PD.

    Rows are sorted by PD (stable sort) and cut into ``n_groups`` groups of equal size
    (sizes differ by at most one, :func:`numpy.array_split`); tied PDs may fall in neighbouring groups.
    With ``O_g`` observed events, ``E_g`` the sum of PD and ``n_g`` the rows of group g::

        H = sum_g (O_g - E_g)^2 / (E_g * (1 - E_g / n_g))

    which is compared with a chi-square distribution on ``n_groups - 2`` degrees of freedom.

    Raises
    ------
    ConfigError
        ``n_groups`` is below 3 or above the number of rows.
    DataError
        A group has an expected count of events or non-events of zero (all PD 0 or all PD 1).
    """
    y_arr, p_arr = check_target_and_pd(y, p, both_classes=False)
    if int(n_groups) != n_groups or not 3 <= n_groups <= y_arr.size:
        raise ConfigError(f"n_groups must be an integer in [3, n rows = {y_arr.size}]; got {n_groups!r}")
    order = np.argsort(p_arr, kind="stable")
    parts = np.array_split(order, int(n_groups))
    n_g = np.array([part.size for part in parts], dtype=np.float64)
    observed = np.array([y_arr[part].sum() for part in parts], dtype=np.float64)
    expected = np.array([p_arr[part].sum() for part in parts])
    variance = expected * (1.0 - expected / n_g)
    if (variance <= 0).any():
        first = int(np.flatnonzero(variance <= 0)[0])
        raise DataError(
            f"Hosmer-Lemeshow group {first + 1} of {n_groups} has all PD equal to 0 or 1 "
            "(zero expected events or non-events); use fewer groups",
            column="p",
        )
    statistic = float(((observed - expected) ** 2 / variance).sum())
    df = int(n_groups) - 2
    return HosmerLemeshowResult(statistic, df, float(stats.chi2.sf(statistic, df)))

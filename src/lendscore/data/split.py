"""Train/test splits returned as boolean numpy masks.

- :func:`time_split` is out-of-time: rows dated before ``test_from`` train, rows dated from it
  (and before ``test_to`` when given) test. Rows without a date, or after ``test_to``, are in
  neither mask.
- :func:`random_split` is stratified on the target (scikit-learn ``train_test_split``), seeded.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from lendscore.errors import ConfigError, DataError, TargetError

__all__ = ["time_split", "random_split"]


def _timestamp(value: Any, label: str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as e:
        raise ConfigError(f"{label} must be a date; got {value!r}") from e
    if pd.isna(ts):
        raise ConfigError(f"{label} must be a date; got {value!r}")
    return ts


def time_split(time: pd.Series, test_from: Any, *, test_to: Any | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-time masks: train = ``time < test_from``; test = ``test_from <= time < test_to``.

    ``test_from``/``test_to`` accept anything ``pd.Timestamp`` parses ("2011-01-01").
    Raises ``DataError`` when a side would be empty, naming the date range of the data.
    """
    t = pd.to_datetime(pd.Series(time), format="ISO8601")
    start = _timestamp(test_from, "test_from")
    train = (t < start).to_numpy(dtype=bool)
    test = (t >= start).to_numpy(dtype=bool)
    if test_to is not None:
        end = _timestamp(test_to, "test_to")
        if end <= start:
            raise ConfigError(f"test_to must be after test_from ({start.date()}); got {end.date()}")
        test = test & (t < end).to_numpy(dtype=bool)
    for side, mask in (("train", train), ("test", test)):
        if not mask.any():
            raise DataError(
                f"time split leaves the {side} side empty: test_from={start.date()}"
                f"{'' if test_to is None else f', test_to={pd.Timestamp(test_to).date()}'}; "
                f"dates run from {t.min()} to {t.max()}",
                column=str(getattr(time, "name", None) or "time"),
            )
    return train, test


def random_split(y: Any, test_size: float = 0.3, seed: int = 42) -> tuple[np.ndarray, np.ndarray]:
    """Stratified random masks (``train``, ``test``); ``test_size`` is the test share in (0, 1)."""
    if not 0 < test_size < 1:
        raise ConfigError(f"test_size must be in (0, 1); got {test_size}")
    target = np.asarray(y)
    n = len(target)
    classes, counts = np.unique(target, return_counts=True)
    if len(classes) < 2:
        raise TargetError(f"y must hold two classes to stratify; got {dict(zip(classes, counts, strict=True))}")
    n_test = round(n * test_size)
    if counts.min() < 2 or n_test < len(classes) or n - n_test < len(classes):
        raise DataError(
            f"random split of {n} rows with test_size={test_size} would leave a side without "
            f"every class; class counts {dict(zip(classes.tolist(), counts.tolist(), strict=True))}"
        )
    idx = np.arange(n)
    train_idx, test_idx = train_test_split(idx, test_size=test_size, random_state=seed, stratify=target)
    train = np.zeros(n, dtype=bool)
    train[train_idx] = True
    test = np.zeros(n, dtype=bool)
    test[test_idx] = True
    return train, test

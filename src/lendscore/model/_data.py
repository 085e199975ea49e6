"""Turning what users pass (DataFrame, array, dict) into columns and a binary target."""
from __future__ import annotations

import numpy as np
import pandas as pd

from lendscore.errors import SchemaError, TargetError

__all__ = ["as_frame", "encode_target", "column_kinds"]


def as_frame(X, feature_names: list[str] | None = None) -> pd.DataFrame:
    """A DataFrame view of X (arrays get names x0, x1, ... unless ``feature_names`` is given)."""
    if isinstance(X, pd.DataFrame):
        return X
    if isinstance(X, dict):
        return pd.DataFrame([X]) if not any(isinstance(v, (list, np.ndarray, pd.Series)) for v in X.values()) else pd.DataFrame(X)
    arr = np.asarray(X)
    if arr.ndim != 2:
        raise ValueError(f"X must be 2-dimensional; got an array of shape {arr.shape}")
    names = feature_names if feature_names is not None else [f"x{i}" for i in range(arr.shape[1])]
    if arr.dtype.kind in "fiub":
        arr = arr.astype(float)
        if np.isinf(arr).any():
            raise ValueError("X must not contain infinity; found inf")
    return pd.DataFrame(arr, columns=names)


def column_kinds(X: pd.DataFrame, categorical: list[str] | None) -> dict[str, str]:
    """numeric or categorical for every column; ``categorical`` forces listed columns."""
    forced = set(categorical or [])
    unknown = forced - set(X.columns)
    if unknown:
        raise SchemaError(f"categorical_features names columns not in X: {sorted(unknown)}")
    kinds = {}
    for c in X.columns:
        s = X[c]
        numeric = pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)
        kinds[str(c)] = "categorical" if (c in forced or not numeric) else "numeric"
    return kinds


def encode_target(y) -> tuple[np.ndarray, np.ndarray]:
    """(classes, y01): the two classes sorted, and y as 0/1 with 1 = classes[1] = event (bad)."""
    s = pd.Series(np.asarray(y).ravel() if not isinstance(y, pd.Series) else y.to_numpy())
    if s.isna().any():
        raise TargetError(f"target has {int(s.isna().sum())} missing values; drop or fix those rows")
    classes, y_enc = np.unique(s.to_numpy(), return_inverse=True)
    if classes.size != 2:
        counts = s.value_counts().head(10).to_dict()
        what = "only one class" if classes.size == 1 else f"{classes.size} classes"
        raise TargetError(f"target must be binary (two classes); got {what}: {counts}")
    return classes, y_enc.astype(float)

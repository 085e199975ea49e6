"""Turning what users pass (DataFrame, array, dict) into columns and a binary target."""

from __future__ import annotations

import contextlib
import hashlib
import json

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import assert_all_finite, check_array, column_or_1d

from lendscore.errors import SchemaError, TargetError

__all__ = ["as_frame", "check_sample_weight", "column_kinds", "encode_target", "fingerprint"]


def as_frame(X, feature_names: list[str] | None = None) -> pd.DataFrame:
    """A DataFrame view of X with string column names.

    Arrays are checked by scikit-learn's ``check_array`` (2-d, not sparse, not complex, not
    empty; NaN allowed as missing) and get the names ``feature_names`` or x0, x1, ...
    """
    if isinstance(X, pd.DataFrame):
        if not all(isinstance(c, str) for c in X.columns):
            X = X.set_axis([str(c) for c in X.columns], axis=1)
        return X
    if sp.issparse(X):  # before the dict test: a DOK sparse array is a dict
        raise TypeError("sparse input is not supported: pass a dense array or a DataFrame")
    if isinstance(X, dict):
        if any(isinstance(v, (list, np.ndarray, pd.Series)) for v in X.values()):
            return pd.DataFrame(X)
        return pd.DataFrame([X])
    arr = check_array(X, dtype=None, ensure_all_finite="allow-nan")
    if arr.dtype == object:
        with contextlib.suppress(ValueError):  # an object array of numbers is numeric; of text, categorical
            arr = arr.astype(float)
    if arr.dtype.kind in "fiub":
        arr = arr.astype(float)
    names = feature_names if feature_names is not None else [f"x{i}" for i in range(arr.shape[1])]
    if len(names) != arr.shape[1]:
        raise ValueError(f"X has {arr.shape[1]} features, but Scorecard is expecting {len(names)} features as input")
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
    if y is None:
        raise ValueError("Scorecard requires y to be passed, but the target y is None")
    if not isinstance(y, pd.Series):
        y = column_or_1d(np.asarray(y), warn=True)
        if y.dtype.kind in "fc":
            assert_all_finite(y, input_name="y")
        if type_of_target(y) == "continuous":
            raise TargetError(
                "Unknown label type: continuous. The target must be binary (default or not), not a continuous value"
            )
    s = pd.Series(y.to_numpy() if isinstance(y, pd.Series) else y)
    if s.isna().any():
        raise TargetError(
            f"Input y contains NaN: the target has {int(s.isna().sum())} missing values; drop or fix those rows"
        )
    classes, y_enc = np.unique(s.to_numpy(), return_inverse=True)
    if classes.size != 2:
        counts = s.value_counts().head(10).to_dict()
        what = "only one class" if classes.size == 1 else f"{classes.size} classes"
        raise TargetError(f"target must be binary (two classes); got {what}: {counts}")
    return classes, y_enc.astype(float)


def check_sample_weight(sample_weight, n: int) -> np.ndarray:
    """Non-negative finite weights of length n, not all zero (None: all ones)."""
    if sample_weight is None:
        return np.ones(n)
    w = np.asarray(sample_weight, dtype=float)
    if w.ndim != 1 or w.shape[0] != n:
        raise ValueError(f"sample_weight.shape == {w.shape}, expected ({n},)")
    if not np.all(np.isfinite(w)) or (w < 0).any():
        raise ValueError("sample_weight must be finite and >= 0")
    if not (w > 0).any():
        raise ValueError("Sample weights must contain at least one non-zero number.")
    return w


def fingerprint(X: pd.DataFrame, y) -> dict:
    """SHA-256 of the training data (columns, types and values) with its shape."""
    h = hashlib.sha256()
    h.update(json.dumps([[str(c), str(t)] for c, t in X.dtypes.items()]).encode())
    h.update(pd.util.hash_pandas_object(X, index=False).to_numpy().tobytes())
    h.update(np.ascontiguousarray(np.asarray(y, dtype=float)).tobytes())
    return {"sha256": h.hexdigest(), "n_rows": int(X.shape[0]), "n_columns": int(X.shape[1])}

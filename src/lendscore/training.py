"""The training workflow: read -> validate -> split -> fit -> evaluate (no plotting, no I/O of results).

``train_scorecard`` is what ``lendscore train`` and the demo run; the command line writes the
model, metrics and report from the :class:`TrainingResult` it returns.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lendscore.config import TrainConfig
from lendscore.data import (
    DataQualityReport,
    custom_profile,
    get_profile,
    prepare,
    random_split,
    read_table,
    time_split,
)
from lendscore.errors import ConfigError
from lendscore.model.scorecard import Scorecard
from lendscore.validation import evaluate

__all__ = [
    "TrainingData",
    "TrainingResult",
    "check_segment_column",
    "load_training_data",
    "package_model",
    "train_scorecard",
]


@dataclass
class TrainingResult:
    model: Scorecard
    metrics: dict[str, Any]
    data_quality: DataQualityReport
    split: str
    samples: dict[str, tuple[np.ndarray, pd.DataFrame]]  # name -> (y, score_details)
    X_test: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    X_train: pd.DataFrame | None = None  # the training rows, for the validation report's train-side tables
    amount_column: str | None = None  # the loan amount's column (the cut-off table's exposure), if known
    raw_test: pd.DataFrame | None = None  # the test rows as read (every column), for the report's segments


def _window(time: pd.Series | None, mask: np.ndarray) -> dict[str, str] | None:
    if time is None or not mask.any():
        return None
    t = pd.to_datetime(time[mask])
    return {"start": str(t.min().date()), "end": str(t.max().date())}


@dataclass
class TrainingData:
    """Validated rows of loans with known outcomes, and how they were read."""

    X: pd.DataFrame
    y: pd.Series
    time: pd.Series | None
    quality: DataQualityReport
    profile: Any  # DatasetProfile
    label: str
    builtin_profile: bool
    raw: pd.DataFrame | None = None  # the rows as read, before validation (X keeps their index)


def load_training_data(
    source: str | Path | pd.DataFrame,
    *,
    target: str | None = None,
    bad: Any = 1,
    profile: str | None = None,
    sql: str | None = None,
    time_column: str | None = None,
    step: Callable[[str], None] = lambda msg: None,
) -> TrainingData:
    """Read and validate loans (what ``train`` and ``retrain`` both start from).

    Either ``profile`` (a built-in dataset profile, which knows the target, the columns known only
    after origination and the derivation of model inputs) or ``target`` and ``bad`` (your own
    data) must be given.
    """
    label = "DataFrame" if isinstance(source, pd.DataFrame) else Path(str(source)).name
    step(f"reading {label}")
    raw = source if isinstance(source, pd.DataFrame) else read_table(source, sql=sql)
    if profile is not None:
        prof = get_profile(profile)
        if target is not None and target != prof.target:
            raise ConfigError(f"--target {target!r} contradicts profile {profile!r}, whose target is {prof.target!r}")
    elif target is not None:
        prof = custom_profile(target, bad, time_column=time_column)
    else:
        raise ConfigError("give --target COLUMN (and --bad VALUE) or --profile NAME")
    step("validating rows")
    X, y, when, dq = prepare(raw, prof, source=label)
    return TrainingData(X, y, when, dq, prof, label, profile is not None, raw)


def package_model(model: Scorecard, X_train: pd.DataFrame, **metadata: Any) -> Scorecard:
    """Attach the typed metadata (:class:`~lendscore.model.metadata.ModelMetadata`, unknown keys
    refused) and the monitoring reference of the training rows to a fitted model; ``train``,
    ``retrain`` and the Python API all package a model here, so every model file has one shape."""
    from lendscore.model.metadata import ModelMetadata
    from lendscore.monitoring.drift import REFERENCE_KEY, build_reference

    meta = {**metadata, REFERENCE_KEY: build_reference(model, X_train).to_dict()}
    model.metadata_ = ModelMetadata.model_validate(meta).to_json_dict()
    return model


def train_scorecard(
    source: str | Path | pd.DataFrame,
    *,
    target: str | None = None,
    bad: Any = 1,
    profile: str | None = None,
    sql: str | None = None,
    config: TrainConfig | None = None,
    time_column: str | None = None,
    test_from: str | None = None,
    test_size: float | None = None,
    seed: int | None = None,
    segment: str | None = None,
    step: Callable[[str], None] = lambda msg: None,
) -> TrainingResult:
    """Train and validate a scorecard on a file, a SQL query or a DataFrame of loans.

    Either ``profile`` (a built-in dataset profile, which knows the target and the columns known
    only after origination) or ``target`` and ``bad`` (your own data) must be given. With
    ``test_from`` the test set is every row dated from then on (out of time), otherwise a
    stratified random ``test_size`` share. ``segment`` names a column of the data (a model input
    or not) the report will break discrimination down by: a column that does not exist or has a
    single value is refused here, before fitting.
    """
    config = config or TrainConfig()
    sp = config.split
    time_column = time_column or sp.time_column
    test_from = test_from or sp.test_from
    test_size = sp.test_size if test_size is None else test_size
    seed = sp.seed if seed is None else seed
    data = load_training_data(
        source, target=target, bad=bad, profile=profile, sql=sql, time_column=time_column, step=step
    )
    X, y, when, prof = data.X, data.y, data.time, data.profile
    if segment is not None:
        check_segment_column(data.raw if data.raw is not None else X, segment)
    if test_from is not None:
        if when is None:
            raise ConfigError("--test-from needs --time-column (or a profile with a time column)")
        tr, te = time_split(when, test_from)
        split = f"out of time: train before {test_from}, test from {test_from}"
    else:
        tr, te = random_split(y, test_size=test_size, seed=seed)
        split = f"stratified random: {1 - test_size:.0%} train / {test_size:.0%} test, seed {seed}"
    Xtr, ytr, Xte, yte = X[tr], y.to_numpy()[tr], X[te], y.to_numpy()[te]
    step(f"fitting the scorecard on {len(ytr):,} rows")
    t0 = time.perf_counter()
    model = Scorecard(**config.scorecard.estimator_params()).fit(Xtr, ytr, inputs=prof)
    fit_seconds = time.perf_counter() - t0
    step(f"validating on {len(yte):,} test rows")
    samples = {"train": (ytr, model.score_details(Xtr)), "test": (yte, model.score_details(Xte))}
    metrics: dict[str, Any] = {
        name: evaluate(yy, d["pd"].to_numpy(), model.threshold_) for name, (yy, d) in samples.items()
    }
    metrics["fit_seconds"] = fit_seconds
    # a built-in profile knows which factor groups its data lack; for the user's own data
    # (no profile) nothing is known about the columns, so nothing is claimed
    notes = [prof.missing_factors_message] if data.builtin_profile and prof.missing_factors else []
    package_model(
        model,
        Xtr,
        source=data.label,
        profile=prof.name if data.builtin_profile else None,
        target=prof.target,
        split=split,
        training_window=_window(when, tr),
        test_window=_window(when, te),
        n_train=int(len(ytr)),
        n_test=int(len(yte)),
        metrics=metrics,
    )
    return TrainingResult(
        model,
        metrics,
        data.quality,
        split,
        samples,
        Xte,
        notes,
        dict(model.metadata_),
        X_train=Xtr,
        amount_column=prof.field_map.get("requested_amount"),
        raw_test=_raw_rows(data.raw, Xte.index),
    )


#: A segment column with more distinct values than this is refused (bin it first).
MAX_SEGMENTS = 100


def check_segment_column(frame: pd.DataFrame, column: str) -> pd.Series:
    """The values of the segment column ``column`` of ``frame`` (missing as ``"(missing)"``, every value
    as text); a column that does not exist, has a single value or more than :data:`MAX_SEGMENTS`
    values is refused with its name (:class:`~lendscore.errors.ConfigError`)."""
    if column not in frame.columns:
        raise ConfigError(
            f"segment column {column!r} not found in the data; columns: {', '.join(map(str, frame.columns))}"
        )
    values = frame[column].astype(object).where(frame[column].notna(), "(missing)").astype(str)
    distinct = values.unique()
    if len(distinct) < 2:
        shown = repr(distinct[0]) if len(distinct) else "no rows"
        raise ConfigError(f"segment column {column!r} has a single value ({shown}): there is nothing to compare")
    if len(distinct) > MAX_SEGMENTS:
        raise ConfigError(
            f"segment column {column!r} has {len(distinct):,} distinct values (at most {MAX_SEGMENTS}): "
            "band it into a few groups first"
        )
    return values


def _raw_rows(raw: pd.DataFrame | None, index: pd.Index) -> pd.DataFrame | None:
    """The rows of ``raw`` at ``index`` (prepare keeps the input index), or None when it cannot tell."""
    if raw is None or not raw.index.is_unique or not index.isin(raw.index).all():
        return None
    return raw.loc[index]

"""Shared fixtures: the bundled Lending Club data split out of time, and one scorecard fitted on it.

The fitted model is session-scoped (fitted once); tests must not modify it.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pytest

from lendscore import Scorecard
from lendscore.data import get_profile, load_bundled, prepare

TRAIN_END = pd.Timestamp("2011-01-01")  # train on loans issued before 2011, validate on 2011


@dataclass(frozen=True)
class OutOfTime:
    X_train: pd.DataFrame
    y_train: pd.Series
    X_test: pd.DataFrame
    y_test: pd.Series


@pytest.fixture(scope="session")
def lending_club() -> OutOfTime:
    X, y, time, _report = prepare(load_bundled("lending_club"), get_profile("lending_club_2007_2011"))
    train = (time < TRAIN_END).to_numpy()
    return OutOfTime(
        X[train].reset_index(drop=True), y[train].reset_index(drop=True),
        X[~train].reset_index(drop=True), y[~train].reset_index(drop=True),
    )


@pytest.fixture(scope="session")
def lc_model(lending_club) -> Scorecard:
    """A default Scorecard fitted on the training window (read-only)."""
    return Scorecard().fit(lending_club.X_train, lending_club.y_train)

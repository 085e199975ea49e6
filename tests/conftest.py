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
        X[train].reset_index(drop=True),
        y[train].reset_index(drop=True),
        X[~train].reset_index(drop=True),
        y[~train].reset_index(drop=True),
    )


@pytest.fixture(scope="session")
def lc_model(lending_club) -> Scorecard:
    """A default Scorecard fitted on the training window (read-only)."""
    return Scorecard().fit(lending_club.X_train, lending_club.y_train)


# ---------------------------------------------------------------- the decision service's tests
@pytest.fixture(scope="session")
def model_path(tmp_path_factory):
    """The demo model file the service tests serve (trained once, cached in the session's tmp)."""
    from lendscore.service.testing import cached_demo_model

    return cached_demo_model(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def keys():
    """One fresh API key per role: {role: key}."""
    from lendscore.service.testing import demo_keys

    return demo_keys()

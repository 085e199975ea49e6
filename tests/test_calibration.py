"""Calibration by group and the Hosmer-Lemeshow test against hand computations."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from lendscore.errors import ConfigError, DataError, TargetError
from lendscore.validation import calibration_by_group, hosmer_lemeshow


def _binom_two_sided_by_hand(k: int, n: int, q: float) -> float:
    """Exact two-sided p-value: total probability of outcomes no more likely than k (R's binom.test)."""
    pmf = [math.comb(n, i) * q**i * (1 - q) ** (n - i) for i in range(n + 1)]
    return min(1.0, sum(v for v in pmf if v <= pmf[k] * (1 + 1e-7)))


def test_calibration_by_group_hand_example():
    # grade A: 20 rows, PD 0.05 each, 3 events; grade B: 10 rows, PD 0.3 each, 3 events
    y = np.r_[np.ones(3), np.zeros(17), np.ones(3), np.zeros(7)].astype(int)
    p = np.r_[np.full(20, 0.05), np.full(10, 0.3)]
    groups = np.r_[np.full(20, "A"), np.full(10, "B")]
    table = calibration_by_group(y, p, groups)
    assert list(table.columns) == ["group", "n", "n_event", "predicted_pd", "observed_rate", "binomial_p_value", "flag"]
    assert table["group"].tolist() == ["A", "B"]
    assert table["n"].tolist() == [20, 10]
    assert table["n_event"].tolist() == [3, 3]
    np.testing.assert_allclose(table["predicted_pd"], [0.05, 0.3])
    np.testing.assert_allclose(table["observed_rate"], [0.15, 0.3])
    np.testing.assert_allclose(table["binomial_p_value"], [_binom_two_sided_by_hand(3, 20, 0.05), 1.0], rtol=1e-9)
    assert table["flag"].tolist() == [False, False]
    assert table.loc[0, "binomial_p_value"] == pytest.approx(0.0755, abs=1e-4)  # R: binom.test(3, 20, 0.05)


def test_calibration_flags_miscalibrated_group_and_keeps_category_order():
    rng = np.random.default_rng(3)
    p = np.full(2000, 0.05)
    y = (rng.random(2000) < np.r_[np.full(1000, 0.05), np.full(1000, 0.15)]).astype(int)
    groups = pd.Categorical(np.r_[np.full(1000, "low"), np.full(1000, "high")], categories=["low", "high", "empty"])
    table = calibration_by_group(y, p, groups)
    assert table["group"].tolist() == ["low", "high"]  # order kept, empty category dropped
    assert table["flag"].tolist() == [False, True]
    k, n = int(table.loc[1, "n_event"]), 1000
    assert table.loc[1, "binomial_p_value"] == pytest.approx(stats.binomtest(k, n, 0.05).pvalue)


def test_calibration_refuses_bad_groups():
    with pytest.raises(DataError, match="groups"):
        calibration_by_group([0, 1], [0.1, 0.2], ["A", None])
    with pytest.raises(DataError, match="groups"):
        calibration_by_group([0, 1], [0.1, 0.2], ["A"])


def test_hosmer_lemeshow_hand_computed():
    # Sorted by PD: (0.1, 0), (0.2, 1) | (0.3, 0), (0.4, 0) | (0.6, 1), (0.8, 1); three groups of two.
    #   group 1: O = 1, E = 0.3, n = 2 -> (0.7)^2 / (0.3 * 0.85) = 0.49 / 0.255
    #   group 2: O = 0, E = 0.7, n = 2 -> (0.7)^2 / (0.7 * 0.65) = 0.49 / 0.455
    #   group 3: O = 2, E = 1.4, n = 2 -> (0.6)^2 / (1.4 * 0.30) = 0.36 / 0.42
    # df = 3 - 2 = 1; for one degree of freedom the chi-square tail is erfc(sqrt(x / 2)).
    y = np.array([1, 0, 1, 0, 1, 0])
    p = np.array([0.8, 0.3, 0.2, 0.1, 0.6, 0.4])  # shuffled: the test must sort by PD
    statistic, df, p_value = hosmer_lemeshow(y, p, n_groups=3)
    expected = 0.49 / 0.255 + 0.49 / 0.455 + 0.36 / 0.42
    assert statistic == pytest.approx(expected)
    assert df == 1
    assert p_value == pytest.approx(math.erfc(math.sqrt(expected / 2)))


def test_hosmer_lemeshow_well_calibrated_model_passes():
    rng = np.random.default_rng(11)
    p = rng.uniform(0.01, 0.5, 20000)
    y = (rng.random(20000) < p).astype(int)
    result = hosmer_lemeshow(y, p)
    assert result.df == 8 and result.p_value > 0.001
    biased = hosmer_lemeshow(y, np.clip(p * 1.5, 0, 1))
    assert biased.p_value < 1e-6


def test_hosmer_lemeshow_errors():
    with pytest.raises(ConfigError, match="n_groups"):
        hosmer_lemeshow([0, 1, 0, 1], [0.1, 0.2, 0.3, 0.4], n_groups=2)
    with pytest.raises(DataError, match="0 or 1"):
        hosmer_lemeshow([0, 0, 0, 1, 1, 1], [0, 0, 0.5, 0.5, 1, 1], n_groups=3)
    with pytest.raises(TargetError, match="binary"):
        hosmer_lemeshow([1, 2, 1], [0.1, 0.2, 0.3], n_groups=3)


def test_calibration_accepts_a_sample_without_defaults():
    table = calibration_by_group(np.zeros(100, dtype=int), np.full(100, 0.05), np.full(100, "A"))
    assert table.loc[0, "n_event"] == 0
    assert table.loc[0, "binomial_p_value"] == pytest.approx(_binom_two_sided_by_hand(0, 100, 0.05))
    assert hosmer_lemeshow(np.zeros(30, dtype=int), np.linspace(0.01, 0.2, 30), n_groups=3).df == 1

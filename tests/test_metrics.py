"""Validation metrics against a hand-worked table and independent implementations."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import f1_score, precision_score, recall_score, roc_auc_score, roc_curve

from lendscore.errors import ConfigError, LendscoreError, TargetError, ValidationError
from lendscore.validation import (
    auc_ci,
    brier,
    choose_threshold,
    classification_at,
    confusion,
    evaluate,
    gini,
    ks_statistic,
    log_loss,
    roc_auc,
)
from lendscore.validation.metrics import _auc_from_weights

# Hand-worked table: 3 events, 5 non-events, event predicted when PD >= cut-off.
#   cut-off  share of events >=  share of non-events >=   gap   TP FP  F1
#   0.9      1/3                 0/5                      .333   1  0  .500
#   0.8      2/3                 0/5                      .667   2  0  .800
#   0.7      2/3                 1/5                      .467   2  1  .667
#   0.6      3/3                 1/5                      .800   3  1  .857 (6/7)
#   0.5      3/3                 2/5                      .600   3  2  .750
# AUC: the events at .9 and .8 outrank all 5 non-events, the one at .6 outranks 4: 14/15.
Y8 = np.array([1, 1, 0, 1, 0, 0, 0, 0])
P8 = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2])


@pytest.fixture(scope="module")
def sample():
    rng = np.random.default_rng(7)
    x = rng.normal(size=3000)
    p = np.round(1 / (1 + np.exp(-(x - 2.0))), 3)  # rounding creates ties
    y = (rng.random(3000) < p).astype(int)
    return y, p


def test_hand_worked_table():
    assert roc_auc(Y8, P8) == pytest.approx(14 / 15)
    assert gini(Y8, P8) == pytest.approx(2 * 14 / 15 - 1)
    ks, t = ks_statistic(Y8, P8)
    assert ks == pytest.approx(0.8)
    assert t == 0.6
    cm = confusion(Y8, P8, 0.6)
    assert cm.loc[1, 1] == 3 and cm.loc[0, 1] == 1 and cm.loc[0, 0] == 4 and cm.loc[1, 0] == 0
    assert classification_at(Y8, P8, 0.6) == pytest.approx(
        {"accuracy": 7 / 8, "precision": 0.75, "recall": 1.0, "f1": 6 / 7, "tp": 3, "fp": 1, "tn": 4, "fn": 0}
    )
    t_f1, sentence = choose_threshold(Y8, P8, "f1")
    assert t_f1 == 0.6
    assert "maximises F1" in sentence and "training predictions" in sentence


def test_ks_matches_roc_curve_and_scipy(sample):
    y, p = sample
    fpr, tpr, thresholds = roc_curve(y, p)
    gap = tpr - fpr
    ks, t = ks_statistic(y, p)
    assert ks == pytest.approx(gap.max())
    assert ks == pytest.approx(stats.ks_2samp(p[y == 1], p[y == 0]).statistic)
    # the threshold reaches the statistic
    cls = classification_at(y, p, t)
    assert cls["tp"] / (y == 1).sum() - cls["fp"] / (y == 0).sum() == pytest.approx(ks)
    # on the score (higher = safer, a decreasing transform) KS is the same
    assert ks_statistic(y, 1 - p).statistic == pytest.approx(ks)


def test_metrics_match_sklearn(sample):
    y, p = sample
    assert roc_auc(y, p) == pytest.approx(roc_auc_score(y, p))
    assert brier(y, p) == pytest.approx(np.mean((p - y) ** 2))
    assert log_loss(y, p) == pytest.approx(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
    cls = classification_at(y, p, 0.2)
    pred = (p >= 0.2).astype(int)
    assert cls["precision"] == pytest.approx(precision_score(y, pred))
    assert cls["recall"] == pytest.approx(recall_score(y, pred))
    assert cls["f1"] == pytest.approx(f1_score(y, pred))


def test_f1_threshold_is_best_of_all_cutoffs(sample):
    y, p = sample
    t, _ = choose_threshold(y, p, "f1")
    cutoffs = np.unique(p)
    pred = p[None, :] >= cutoffs[:, None]  # brute force: every cut-off, every row
    tp = (pred & (y == 1)).sum(axis=1)
    f1_all = 2 * tp / (pred.sum(axis=1) + (y == 1).sum())
    assert classification_at(y, p, t)["f1"] == pytest.approx(f1_all.max())
    assert f1_all.max() == pytest.approx(f1_score(y, (p >= t).astype(int)))


def test_choose_threshold_rules():
    t, sentence = choose_threshold(Y8, P8, "ks", on="test predictions")
    assert t == 0.6 and "KS" in sentence and "test predictions" in sentence
    t, sentence = choose_threshold(Y8, P8, "fixed", 0.25)
    assert t == 0.25 and "fixed" in sentence
    with pytest.raises(ConfigError, match="value"):
        choose_threshold(Y8, P8, "fixed")
    with pytest.raises(ConfigError, match="rule"):
        choose_threshold(Y8, P8, "youden")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="threshold"):
        choose_threshold(Y8, P8, "fixed", 1.5)


def test_weighted_auc_matches_sklearn_sample_weight(sample):
    y, p = sample
    rng = np.random.default_rng(0)
    weights = rng.multinomial(y.size, np.full(y.size, 1 / y.size), size=4).astype(float)
    got = _auc_from_weights(y.astype(np.int8), p, weights)
    want = [roc_auc_score(y, p, sample_weight=w) for w in weights]
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_auc_ci_brackets_auc_and_is_reproducible(sample):
    y, p = sample
    low, high = auc_ci(y, p, n_boot=100, seed=1)
    assert low < roc_auc(y, p) < high
    assert (low, high) == auc_ci(y, p, n_boot=100, seed=1)
    narrow = auc_ci(y, p, n_boot=100, seed=1, level=0.5)
    assert low < narrow[0] < narrow[1] < high


def test_evaluate_keys_and_json(sample):
    y, p = sample
    result = evaluate(y, p, 0.2, n_boot=50)
    assert list(result) == [
        "auc", "auc_ci_low", "auc_ci_high", "gini", "ks", "brier", "log_loss", "accuracy",
        "precision", "recall", "f1", "threshold", "n", "n_event", "event_rate",
    ]  # fmt: skip
    assert json.loads(json.dumps(result)) == result
    assert all(type(v) in (float, int) for v in result.values())
    assert result["n"] == 3000 and result["n_event"] == int(y.sum())
    assert evaluate(y, p, 0.2, bootstrap=False)["auc_ci_low"] is None


@pytest.mark.parametrize(
    ("y", "p", "error", "match"),
    [
        ([0, 0, 0], [0.1, 0.2, 0.3], TargetError, "single class"),
        ([0, 1, 2], [0.1, 0.2, 0.3], TargetError, "binary"),
        ([0, 1, np.nan], [0.1, 0.2, 0.3], TargetError, "binary"),
        ([0, 1, 1], [0.1, 1.2, 0.3], ValidationError, r"p \(predicted PD\).*row 1"),
        ([0, 1, 1], [0.1, np.nan, 0.3], ValidationError, "p"),
        ([0, 1], [0.1, 0.2, 0.3], LendscoreError, "same length"),
    ],
)
def test_bad_inputs_raise_named_errors(y, p, error, match):
    with pytest.raises(error, match=match):
        evaluate(y, p, 0.5, bootstrap=False)

"""WoE and IV against a hand-worked table; the zero-count and unseen-bin rules; the sign convention."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lendscore.features.woe import WOE_RULE_EXACT, WOE_RULE_PSEUDO, WOE_RULE_UNSEEN, woe_iv

# Hand-worked table (3 bins; N_event = 60, N_nonevent = 200):
#   bin  n_event  n_nonevent  share_event  share_nonevent  WoE = ln(share_ne / share_e)   IV_i = (sh_ne - sh_e) * WoE
#   0    10       90          1/6          0.45            ln(2.7) =  0.9932518          0.2833333 *  0.9932518 = 0.2814214
#   1    20       80          1/3          0.40            ln(1.2) =  0.1823216          0.0666667 *  0.1823216 = 0.0121548
#   2    30       30          1/2          0.15            ln(0.3) = -1.2039728         -0.35      * -1.2039728 = 0.4213905
#   IV = 0.7149667
HAND_EVENT = [10, 20, 30]
HAND_NONEVENT = [90, 80, 30]
HAND_WOE = [0.9932518, 0.1823216, -1.2039728]
HAND_IV = [0.2814214, 0.0121548, 0.4213905]
HAND_IV_TOTAL = 0.7149667


def test_hand_worked_table():
    woe, iv, rule = woe_iv(np.array(HAND_EVENT), np.array(HAND_NONEVENT))
    np.testing.assert_allclose(woe, HAND_WOE, atol=1e-7)
    np.testing.assert_allclose(iv, HAND_IV, atol=1e-7)
    assert iv.sum() == pytest.approx(HAND_IV_TOTAL, abs=1e-6)
    assert list(rule) == [WOE_RULE_EXACT] * 3


# Zero-count rule: one pseudo-observation at the average rate (N_event/N events, N_nonevent/N
# non-events) is added to the bin's counts only, totals unchanged.
#   bin  n_event  n_nonevent  (N_event = 10, N_nonevent = 100, N = 110)
#   0    0        50          e' = 10/110 = 0.0909091, ne' = 50 + 100/110 = 50.9090909
#                             WoE = ln((50.9090909/100) / (0.0909091/10)) = ln(56) = 4.0253517
#                             IV = (0.5 - 0) * 4.0253517 = 2.0126758
#   1    10       50          WoE = ln((50/100)  / (10/10))  = ln(0.5)  = -0.6931472   IV = (0.5 - 1) * -0.6931472 = 0.3465736
def test_zero_count_bin_uses_pseudo_count_on_that_bin_only():
    woe, iv, rule = woe_iv(np.array([0, 10]), np.array([50, 50]))
    np.testing.assert_allclose(woe, [4.0253517, -0.6931472], atol=1e-7)
    np.testing.assert_allclose(iv, [2.0126758, 0.3465736], atol=1e-7)
    assert list(rule) == [WOE_RULE_PSEUDO, WOE_RULE_EXACT]


def test_zero_nonevent_bin_uses_pseudo_count():
    # bin 0: 5 events, 0 non-events (N_event = 10, N_nonevent = 40, N = 50):
    # e' = 5 + 10/50 = 5.2, ne' = 40/50 = 0.8, WoE = ln((0.8/40) / (5.2/10)) = ln(1/26)
    woe, _, rule = woe_iv(np.array([5, 5]), np.array([0, 40]))
    assert woe[0] == pytest.approx(math.log(1 / 26))
    assert list(rule) == [WOE_RULE_PSEUDO, WOE_RULE_EXACT]


def test_sign_convention_positive_woe_is_safer():
    # bin 0 has a lower event rate than the population (10 %), bin 1 a higher one (50 %)
    woe, _, _ = woe_iv(np.array([10, 50]), np.array([90, 50]))
    assert woe[0] > 0 > woe[1]


def test_needs_both_classes():
    with pytest.raises(ValueError, match="both classes"):
        woe_iv(np.array([0, 0]), np.array([3, 4]))


counts = st.lists(st.tuples(st.integers(1, 500), st.integers(1, 500)), min_size=2, max_size=8)


@settings(max_examples=100, deadline=None)
@given(counts)
def test_exact_bins_iv_nonnegative_and_woe_orders_like_event_rate(table):
    e = np.array([t[0] for t in table], dtype=float)
    ne = np.array([t[1] for t in table], dtype=float)
    woe, iv, rule = woe_iv(e, ne)
    assert np.all(iv >= -1e-12)
    rate = e / (e + ne)
    order = np.argsort(rate, kind="mergesort")
    # a higher event rate never has a higher WoE
    assert np.all(np.diff(woe[order]) <= 1e-12)
    assert set(rule) == {WOE_RULE_EXACT}


def test_zero_event_bin_is_never_riskier_than_average():
    woe, iv, _ = woe_iv(np.array([0, 10]), np.array([2, 998]))
    assert woe[0] > 0
    assert iv[0] >= 0


def test_empty_bin_is_unseen_with_neutral_woe():
    # a Missing bin never seen in training: WoE 0 (average risk), no IV, flagged "unseen"
    woe, iv, rule = woe_iv(np.array([10, 20, 0]), np.array([90, 80, 0]))
    assert woe[2] == 0.0 and iv[2] == 0.0
    assert list(rule) == [WOE_RULE_EXACT, WOE_RULE_EXACT, WOE_RULE_UNSEEN]

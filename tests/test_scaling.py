"""Points scaling and the master scale with worked numbers."""

from __future__ import annotations

import math
from itertools import pairwise

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from lendscore.model.grades import DEFAULT_PD_BOUNDS, assign_grades, grade_of, master_scale
from lendscore.model.scaling import Scaling, bin_points, pd_to_score, score_to_pd

# pdo 20, 600 points at odds 50:1 (good:bad)
#   factor = 20 / ln 2               = 28.853900817779268
#   offset = 600 - factor * ln(50)   = 600 - 28.8539008 * 3.9120230 = 487.1228762045055
FACTOR = 28.853900817779268
OFFSET = 487.1228762045055
SC = Scaling(pdo=20, base_points=600, base_odds=50)


def test_factor_and_offset():
    assert SC.factor == pytest.approx(FACTOR, rel=1e-12)
    assert SC.offset == pytest.approx(OFFSET, rel=1e-12)
    assert SC.factor == pytest.approx(28.8539, abs=1e-4)
    assert SC.offset == pytest.approx(487.1229, abs=1e-4)


def test_base_points_at_base_odds():
    # odds 50:1 good:bad -> PD = 1 / 51
    assert pd_to_score(1 / 51, SC) == pytest.approx(600.0, abs=1e-9)
    assert score_to_pd(600.0, SC) == pytest.approx(1 / 51, rel=1e-12)


def test_pdo_points_double_the_odds():
    for s in (520.0, 600.0, 680.0):
        p0, p1 = score_to_pd(s, SC), score_to_pd(s + 20.0, SC)
        assert ((1 - p1) / p1) / ((1 - p0) / p0) == pytest.approx(2.0, rel=1e-12)
    # worked: 620 points -> odds 100:1 -> PD 1/101
    assert score_to_pd(620.0, SC) == pytest.approx(1 / 101, rel=1e-12)


@pytest.mark.parametrize("p", [1e-6, 0.001, 1 / 51, 0.1, 0.5, 0.9, 0.999])
def test_score_to_pd_inverts_pd_to_score(p):
    assert score_to_pd(pd_to_score(p, SC), SC) == pytest.approx(p, rel=1e-12)


def test_points_add_up_to_the_score():
    # log-odds of default = intercept + sum coef_j * woe_j
    intercept, coef, woe = -1.7, np.array([-0.9, -0.6, -1.1]), np.array([0.4, -0.25, 0.05])
    points = [bin_points(c, np.array([w]), intercept, 3, SC)[0] for c, w in zip(coef, woe, strict=True)]
    logit = intercept + coef @ woe
    assert sum(points) == pytest.approx(SC.offset - SC.factor * logit, abs=1e-9)
    assert score_to_pd(sum(points), SC) == pytest.approx(1 / (1 + math.exp(-logit)), rel=1e-12)


def test_one_characteristic_scorecard_points_equal_score():
    # n = 1: the characteristic takes the whole intercept and offset
    pts = bin_points(-0.8, np.array([0.0]), -2.0, 1, SC)[0]
    assert pts == pytest.approx(OFFSET + 2.0 * FACTOR, abs=1e-9)


def test_invalid_scaling_is_refused():
    with pytest.raises(ValueError, match="pdo"):
        Scaling(pdo=0)
    with pytest.raises(ValueError, match="base_odds"):
        Scaling(base_odds=-1)


def test_master_scale_covers_zero_to_one_without_gaps():
    grades = master_scale(DEFAULT_PD_BOUNDS, SC)
    assert [g["grade"] for g in grades] == list("ABCDEFGHIJ")
    assert grades[0]["pd_min"] == 0.0 and grades[-1]["pd_max"] == 1.0
    for a, b in pairwise(grades):
        assert b["pd_min"] == a["pd_max"]
        assert b["score_max"] == a["score_min"]
    assert grades[0]["score_max"] == math.inf and grades[-1]["score_min"] == -math.inf
    assert grades[0]["score_min"] == pytest.approx(pd_to_score(0.01, SC))


def test_pd_on_a_bound_belongs_to_the_better_grade():
    grades = master_scale(DEFAULT_PD_BOUNDS, SC)
    bounds = [g["pd_max"] for g in grades]
    got = assign_grades(np.array(bounds), grades)
    assert list(got) == [g["grade"] for g in grades]
    assert [grade_of(b, grades) for b in bounds] == list(got)
    above = assign_grades(np.nextafter(np.array(bounds[:-1]), 1.0), grades)
    assert list(above) == [g["grade"] for g in grades[1:]]


@pytest.mark.parametrize("bounds", [(), (0.5,), (0.2, 0.1, 1.0), (0.0, 1.0), (0.1, 0.5)])
def test_master_scale_refuses_bad_bounds(bounds):
    with pytest.raises(ValueError, match="bounds"):
        master_scale(bounds, SC)


probs = st.floats(1e-9, 1 - 1e-9)


@settings(max_examples=200, deadline=None)
@given(probs, probs)
@example(1e-9, 1.0000000000000003e-09)  # one float apart: the same score (CI found it)
@example(1e-9, 1.0001e-9)
def test_score_decreases_with_pd(p, q):
    if p < q:
        assert pd_to_score(p, SC) >= pd_to_score(q, SC)
        # strictly, once the PDs differ by more than float rounding can hide in the log-odds
        # (1e-9 and the next float up give the same score: a relative change of 1e-17 in logit)
        if q > p * (1 + 1e-9) and 1 - p > (1 - q) * (1 + 1e-9):
            assert pd_to_score(p, SC) > pd_to_score(q, SC)


@settings(max_examples=200, deadline=None)
@given(
    coef=st.floats(-5, -1e-3),
    intercept=st.floats(-5, 5),
    n=st.integers(1, 20),
    woe=st.lists(st.floats(-4, 4), min_size=2, max_size=10),
)
def test_points_increase_with_woe_for_negative_coefficient(coef, intercept, n, woe):
    w = np.sort(np.array(woe))
    pts = bin_points(coef, w, intercept, n, SC)
    assert np.all(np.diff(pts) >= 0)

"""Risk grades: a master scale of PD ranges, with the score range each covers."""

from __future__ import annotations

import bisect
import string
from itertools import pairwise

import numpy as np

from lendscore.model.scaling import Scaling, pd_to_score

__all__ = ["DEFAULT_PD_BOUNDS", "master_scale", "assign_grades"]

# Upper PD bound of each grade, best first; the last grade takes everything up to 1.
DEFAULT_PD_BOUNDS = (0.01, 0.02, 0.035, 0.05, 0.075, 0.10, 0.15, 0.20, 0.30, 1.0)


def master_scale(pd_bounds=DEFAULT_PD_BOUNDS, scaling: Scaling | None = None) -> list[dict]:
    """Grades A, B, ... with ``pd_min`` (exclusive), ``pd_max`` (inclusive) and the score range."""
    bounds = [float(b) for b in pd_bounds]
    if not bounds or bounds[-1] != 1.0 or any(b <= a for a, b in pairwise(bounds)) or bounds[0] <= 0:
        raise ValueError(f"grade PD bounds must increase strictly from > 0 and end at 1.0; got {bounds}")
    if len(bounds) > 26:
        raise ValueError(f"at most 26 grades; got {len(bounds)}")
    scaling = scaling or Scaling()
    out, lo = [], 0.0
    for letter, hi in zip(string.ascii_uppercase, bounds, strict=False):  # 26 letters, at most 26 bounds
        out.append(
            {
                "grade": letter,
                "pd_min": lo,
                "pd_max": hi,
                "score_min": float(pd_to_score(hi, scaling)) if hi < 1 else float("-inf"),
                "score_max": float(pd_to_score(lo, scaling)) if lo > 0 else float("inf"),
            }
        )
        lo = hi
    return out


def assign_grades(pd_, grades: list[dict]) -> np.ndarray:
    """Grade letter of each PD (a PD equal to a bound belongs to the better grade)."""
    bounds = np.array([g["pd_max"] for g in grades[:-1]])
    letters = np.array([g["grade"] for g in grades], dtype=object)
    return letters[np.searchsorted(bounds, np.asarray(pd_, dtype=float), side="left")]


def grade_of(pd_: float, grades, bounds=None) -> str:
    """Grade of one PD: the scalar twin of :func:`assign_grades` (the one-applicant path; a test
    ties the two at every bound). ``bounds``: the grades' ``pd_max`` but the last, if at hand."""
    if bounds is None:
        bounds = [g["pd_max"] for g in grades[:-1]]
    return grades[bisect.bisect_left(bounds, pd_)]["grade"]

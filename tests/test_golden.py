"""Golden models (one per bundled dataset): today's code refits each one and must give the same
bins, coefficients and scores on the fixed sample, bit for bit. Regenerating the files is a
deliberate command: ``python -m lendscore.golden --regenerate`` (its commit says why)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lendscore.golden import compare, golden_models, read

GOLDEN = Path(__file__).parent / "golden"


@pytest.mark.parametrize("name", sorted(golden_models()))
def test_refit_equals_golden_file(name):
    diffs = compare(name, read(GOLDEN / f"{name}.json.gz"))
    assert diffs == {
        "pd": 0.0,
        "score": 0.0,
        "coef": 0.0,
        "intercept": 0.0,
        "grades_differ": 0.0,
        "structure_differs": 0.0,
    }, diffs

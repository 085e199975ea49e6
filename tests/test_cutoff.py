"""Cut-off choice: the profit table against a hand-worked 10-row example; writing the policy."""

from __future__ import annotations

import math
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lendscore.decision.cutoff import (
    CutoffChoice,
    choose_cutoff,
    cutoff_reference_points,
    profit_table,
    write_cutoff,
)
from lendscore.decision.policy import load_policy
from lendscore.errors import PolicyError

# Scores 1..10; bads (event = 1) at scores 1, 2, 4 and 7. LGD 0.5, exposure 1000, margin 0.2,
# cost 10 per application: an approved good earns 200, an approved bad loses 500, costs are 100.
SCORE = np.arange(1, 11, dtype=float)
Y = np.array([1, 1, 0, 1, 0, 0, 1, 0, 0, 0])
# cut-off: (approved goods, approved bads, profit = 200 goods - 500 bads - 100)
HAND = {
    1: (6, 4, -900),
    2: (6, 3, -400),
    3: (6, 2, 100),
    4: (5, 2, -100),
    5: (5, 1, 400),
    6: (4, 1, 200),
    7: (3, 1, 0),
    8: (3, 0, 500),
    9: (2, 0, 300),
    10: (1, 0, 100),
}


@pytest.fixture
def table() -> pd.DataFrame:
    return profit_table(SCORE, Y, lgd=0.5, margin=0.2, exposure=1000.0, cost_per_application=10.0)


def test_profit_table_matches_hand_worked(table: pd.DataFrame) -> None:
    assert list(table["cutoff"]) == [*range(1, 11), math.inf]
    for cut, (goods, bads, profit) in HAND.items():
        row = table.loc[table["cutoff"] == cut].iloc[0]
        assert row["n_approved"] == goods + bads
        assert row["n_event_approved"] == bads
        assert row["approval_rate"] == pytest.approx((goods + bads) / 10)
        assert row["bad_rate"] == pytest.approx(bads / (goods + bads))
        assert row["expected_loss"] == pytest.approx(500 * bads)
        assert row["revenue"] == pytest.approx(200 * goods)
        assert row["profit"] == pytest.approx(profit)
    none = table.iloc[-1]
    assert none["n_approved"] == 0 and math.isnan(none["bad_rate"]) and none["profit"] == -100


def test_classification_metrics_hand_worked(table: pd.DataFrame) -> None:
    # cut-off 5: declined scores 1-4 -> TP 3 (1, 2, 4), FP 1 (3), FN 1 (7), TN 5
    row = table.loc[table["cutoff"] == 5].iloc[0]
    assert (row["accuracy"], row["precision"], row["recall"], row["f1"]) == pytest.approx((0.8, 0.75, 0.75, 0.75))
    first = table.iloc[0]  # approve everyone: nothing declined
    assert math.isnan(first["precision"]) and first["recall"] == 0 and first["f1"] == 0
    assert first["accuracy"] == pytest.approx(0.6)


def test_choose_cutoff_with_and_without_constraints(table: pd.DataFrame) -> None:
    assert choose_cutoff(table).cutoff == 8  # profit 500
    assert choose_cutoff(table, target_approval_rate=0.6).cutoff == 5  # best of 1..5: 400
    assert choose_cutoff(table, max_bad_rate=0.2).cutoff == 8
    choice = choose_cutoff(table, target_approval_rate=0.8, max_bad_rate=0.3)  # c in {1,2,3}; c=3 has 0.25
    assert choice.cutoff == 3 and choice.row["profit"] == 100
    with pytest.raises(PolicyError, match="no cut-off"):
        choose_cutoff(table, target_approval_rate=0.9, max_bad_rate=0.1)


def test_per_row_exposure_and_bad_input() -> None:
    t = profit_table(SCORE, Y, lgd=1.0, margin=0.1, exposure=SCORE * 100, cutoffs=[5])
    # approved 5..10: goods 5, 6, 8, 9, 10 -> revenue 0.1 * 3800; bad 7 -> loss 700
    assert t["profit"].iloc[0] == pytest.approx(380 - 700)
    with pytest.raises(PolicyError, match="lgd"):
        profit_table(SCORE, Y, lgd=1.5, margin=0.1)
    with pytest.raises(PolicyError, match="y must be"):
        profit_table(SCORE, Y * 2, lgd=0.5, margin=0.1)


def test_reference_points_at_cutoff() -> None:
    details = pd.DataFrame({"score": [500, 540, 560, 600], "points_dti": [1.0, 2.0, 4.0, 9.0]})
    assert cutoff_reference_points(details, 550, n_nearest=2) == {"dti": 3.0}


def test_write_cutoff_edits_lines_and_keeps_comments(tmp_path: Path) -> None:
    src = resources.files("lendscore.decision").joinpath("_files/policy_default.toml").read_text("utf-8")
    path = tmp_path / "policy.toml"
    path.write_text(src, encoding="utf-8")
    choice = CutoffChoice(cutoff=561.5, row={"approval_rate": 0.7, "bad_rate": 0.1, "profit": 5.0}, method="max profit")
    write_cutoff(path, choice)
    write_cutoff(path, choice)  # twice: the [cutoff] table is replaced, not duplicated
    policy = load_policy(path)
    assert policy.bands[2].min == 561.5 and policy.bands[1].max == 561.5
    assert policy.cutoff is not None and policy.cutoff.score == 561.5 and policy.cutoff.profit == 5.0
    text = path.read_text(encoding="utf-8")
    assert "EVERY NUMBER HERE IS AN EXAMPLE" in text and text.count("[cutoff]") == 1
    before = text
    with pytest.raises(PolicyError, match=r"line \d+: cut-off 520 is not above the refer band's min 530"):
        write_cutoff(path, CutoffChoice(cutoff=520.0, row={}, method="x"))  # below the refer band
    assert path.read_text(encoding="utf-8") == before

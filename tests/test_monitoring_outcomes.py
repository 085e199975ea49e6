"""Outcome ingestion: every refusal has a reason and is counted; accepted rows are clean."""

from __future__ import annotations

import pandas as pd
import pytest

from lendscore.errors import SchemaError
from lendscore.monitoring import REASONS, validate_outcomes

DECISIONS = pd.DataFrame(
    {
        "decision_id": ["d1", "d2", "d3", "d4", "d5"],
        "created_at": pd.to_datetime(
            [
                "2024-01-10T15:00:00Z",
                "2024-01-11T09:00:00Z",
                "2024-02-01T00:00:00Z",
                "2024-02-02T12:00:00Z",
                "2024-03-01T08:00:00Z",
            ],
            utc=True,
        ),
    }
)


@pytest.mark.parametrize(
    "row, reason",
    [
        ({"decision_id": "d1", "defaulted": 1, "outcome_date": "2024-06-01"}, None),
        ({"decision_id": "d1", "defaulted": "true", "outcome_date": "2024-01-10"}, None),  # same day: accepted
        ({"decision_id": "nope", "defaulted": 0, "outcome_date": "2024-06-01"}, "unknown_decision"),
        ({"decision_id": "d1", "defaulted": 0, "outcome_date": "2024-01-09"}, "before_decision"),
        ({"decision_id": "d1", "defaulted": 2, "outcome_date": "2024-06-01"}, "bad_defaulted"),
        ({"decision_id": "d1", "defaulted": "maybe", "outcome_date": "2024-06-01"}, "bad_defaulted"),
        ({"decision_id": "d1", "defaulted": 1, "outcome_date": "not a date"}, "bad_date"),
        ({"decision_id": None, "defaulted": 1, "outcome_date": "2024-06-01"}, "missing_field"),
        ({"decision_id": "  ", "defaulted": 1, "outcome_date": "2024-06-01"}, "missing_field"),
        ({"decision_id": "d1", "defaulted": None, "outcome_date": "2024-06-01"}, "missing_field"),
    ],
)
def test_one_row(row, reason):
    accepted, rej = validate_outcomes(pd.DataFrame([row]), DECISIONS)
    if reason is None:
        assert len(accepted) == 1 and rej.n_rejected == 0
        assert accepted["defaulted"].tolist() in ([0], [1])
        assert str(accepted["outcome_date"].dt.tz) == "UTC"
    else:
        assert accepted.empty
        assert rej.counts[reason] == 1 and sum(rej.counts.values()) == 1
        assert rej.rows["reason"].tolist() == [reason] and rej.rows["detail"].iloc[0]


def test_batch_counts_duplicates_and_existing():
    batch = pd.DataFrame(
        {
            "decision_id": ["d1", "d2", "d2", "d3", "zz", "d4", "d5"],
            "defaulted": [0, 1, 0, 1, 1, 0, 1],
            "outcome_date": [
                "2024-05-01",
                "2024-05-01",
                "2024-05-02",
                "2024-05-01",
                "2024-05-01",
                "2024-01-01",
                "2024-06-01",
            ],
            "reported_at": ["2024-05-03"] * 7,
        }
    )
    existing = pd.DataFrame({"decision_id": ["d3"]})
    accepted, rej = validate_outcomes(batch, DECISIONS, existing=existing)
    assert accepted["decision_id"].tolist() == ["d1", "d2", "d5"]
    assert accepted["defaulted"].tolist() == [0, 1, 1]
    assert rej.n_received == 7 and rej.n_accepted == 3 and rej.n_rejected == 4
    assert rej.counts == {
        "missing_field": 0,
        "bad_defaulted": 0,
        "bad_date": 0,
        "unknown_decision": 1,
        "duplicate": 2,
        "before_decision": 1,
    }
    assert set(rej.counts) == set(REASONS)
    assert rej.rows.set_index("row").loc[2, "reason"] == "duplicate"  # the second d2 row, first one kept
    d = rej.to_dict()
    assert d["n_rejected"] == 4 and len(d["rejected"]) == 4


def test_integer_ids_match_text_ids():
    decisions = DECISIONS.assign(decision_id=[1, 2, 3, 4, 5])
    accepted, rej = validate_outcomes(
        pd.DataFrame(
            {
                "decision_id": ["1", 2],
                "defaulted": [True, False],
                "outcome_date": pd.to_datetime(["2024-06-01", "2024-06-01"]),
            }
        ),
        decisions,
    )
    assert accepted["decision_id"].tolist() == ["1", "2"] and accepted["defaulted"].tolist() == [1, 0]


def test_missing_columns_are_schema_errors():
    with pytest.raises(SchemaError, match="outcome_date"):
        validate_outcomes(pd.DataFrame({"decision_id": ["d1"], "defaulted": [1]}), DECISIONS)
    with pytest.raises(SchemaError, match="created_at"):
        validate_outcomes(
            pd.DataFrame({"decision_id": ["d1"], "defaulted": [1], "outcome_date": ["2024-06-01"]}),
            DECISIONS.drop(columns="created_at"),
        )

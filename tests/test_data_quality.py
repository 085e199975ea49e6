"""Data-quality rules: counts by rule on a hand-made frame with known bad rows."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from lendscore.data import DataQualityReport, RowValidator, get_profile, prepare
from lendscore.errors import ValidationError

GOOD = {
    "loan_status": "Fully Paid",
    "issue_d": "2011-06-01",
    "earliest_cr_line": "2001-06-01",
    "annual_inc": 60_000.0,
    "revol_util": 0.5,
    "dti": 10.0,
    "loan_amnt": 10_000,
    "int_rate": 0.12,
    "term": 36,
    "installment": 332.14,
}


def _row(**changes):
    return {**GOOD, **changes}


def hand_made_frame() -> pd.DataFrame:
    """13 rows; 9 of them break exactly one rule each (see EXPECTED)."""
    rows = [
        _row(),  # 0 kept
        _row(loan_status="Charged Off", dti=20.0),  # 1 kept
        _row(loan_status=None),  # 2 missing target
        _row(annual_inc=-100.0),  # 3 negative income
        _row(revol_util=12.3),  # 4 utilization beyond [0, 5]
        _row(earliest_cr_line="2012-01-01"),  # 5 credit line after application
        _row(),  # 6 exact duplicate of row 0
        _row(issue_d="not a date", dti=11.0),  # 7 unparseable date
        _row(dti="abc"),  # 8 unparseable number
        _row(loan_status="Current", dti=12.0),  # 9 status not modelled
        _row(loan_status="Charged Off", dti=30.0),  # 10 kept
        _row(dti=5.0),  # 11 kept
        _row(revol_util=7.0, dti=6.0),  # 12 utilization beyond [0, 5]
    ]
    return pd.DataFrame(rows)


EXPECTED = [  # rule, column, action, n_rows, first row
    ("duplicate_row", None, "rejected", 1, 6),
    ("missing_target", "loan_status", "rejected", 1, 2),
    ("target_out_of_scope", "loan_status", "rejected", 1, 9),
    ("unparseable_number", "dti", "rejected", 1, 8),
    ("unparseable_date", "issue_d", "rejected", 1, 7),
    ("out_of_bounds", "revol_util", "rejected", 2, 4),
    ("negative_value", "annual_inc", "rejected", 1, 3),
    ("date_after_application", "earliest_cr_line", "rejected", 1, 5),
]


@pytest.fixture(scope="module")
def prepared():
    return prepare(hand_made_frame(), get_profile("lending_club_2007_2011"), source="hand.csv")


def test_rows_in_and_out(prepared):
    X, y, time, report = prepared
    assert (report.rows_in, report.rows_out) == (13, 4)
    assert list(X.index) == [0, 1, 10, 11]
    assert y.tolist() == [0, 1, 1, 0]
    assert report.n_rejected == report.rows_in - report.rows_out


@pytest.mark.parametrize(("rule", "column", "action", "n_rows", "first_row"), EXPECTED)
def test_each_rule_counted(prepared, rule, column, action, n_rows, first_row):
    report = prepared[3]
    [issue] = [i for i in report.issues if i.rule == rule and i.column == column]
    assert (issue.action, issue.n_rows, issue.examples[0]["row"]) == (action, n_rows, first_row)
    assert report.count(rule, column) == n_rows


def test_issue_order_and_no_extra_rules(prepared):
    assert [(i.rule, i.column) for i in prepared[3].issues] == [(r, c) for r, c, *_ in EXPECTED]


def test_house_form_message(prepared):
    [issue] = [i for i in prepared[3].issues if i.column == "revol_util"]
    assert issue.message == "revol_util must be in [0, 5]; got 12.3 in 2 rows (first: row 4)"
    assert issue.examples == [{"row": 4, "value": 12.3}, {"row": 12, "value": 7.0}]


def test_report_renderings(prepared):
    report = prepared[3]
    as_dict = json.loads(json.dumps(report.to_dict()))
    assert as_dict["rows_in"] == 13 and as_dict["source"] == "hand.csv"
    assert {i["rule"] for i in as_dict["issues"]} == {r for r, *_ in EXPECTED}
    frame = report.to_frame()
    assert list(frame.columns) == ["rule", "column", "action", "n_rows", "message"]
    assert frame["n_rows"].sum() == 9
    text = str(report)
    assert "13 rows in, 4 rows out" in text and "date_after_application" in text


def test_strict_raises_with_failure_cases():
    df = hand_made_frame().iloc[[0, 1, 4, 10, 12]]
    with pytest.raises(ValidationError) as info:
        prepare(df, get_profile("lending_club_2007_2011"), strict=True, source="hand.csv")
    err = info.value
    assert err.rule == "out_of_bounds" and err.column == "revol_util"
    assert err.failure_cases == [
        {"row": 2, "column": "revol_util", "value": 12.3},
        {"row": 4, "column": "revol_util", "value": 7.0},
    ]
    assert str(err).startswith("hand.csv: revol_util must be in [0, 5]; got 12.3 in 2 rows")


def test_strict_does_not_raise_for_out_of_scope_status():
    df = hand_made_frame().iloc[[0, 1, 9, 10]]
    _, y, _, report = prepare(df, get_profile("lending_club_2007_2011"), strict=True)
    assert len(y) == 3 and report.count("target_out_of_scope") == 1


@pytest.mark.parametrize(
    ("values", "n_bad", "parsed"),
    [(["1", "2.5", None], 0, [1.0, 2.5, np.nan]), (["1", "x", "3"], 1, [1.0, 3.0]), ([1, 2, 3], 0, [1.0, 2.0, 3.0])],
)
def test_parse_numbers_counts_failures(values, n_bad, parsed):
    v = RowValidator(pd.DataFrame({"a": values}))
    assert v.parse_numbers("a") == n_bad
    out, report = v.result()
    np.testing.assert_array_equal(out["a"].to_numpy(dtype=float), parsed)
    assert report.count("unparseable_number") == n_bad


def test_duplicates_keep_first_and_flags_change_nothing():
    df = pd.DataFrame({"a": [1, 1, 2, 96], "b": ["x", "x", "y", "z"]})
    v = RowValidator(df)
    assert v.check_duplicates() == 1
    assert v.flag_special_codes("a", (96.0, 98.0)) == 1
    out, report = v.result()
    assert out["a"].tolist() == [1, 2, 96]
    assert [(i.rule, i.action, i.examples[0]["row"]) for i in report.issues] == [
        ("duplicate_row", "rejected", 1),
        ("special_code", "flagged", 3),
    ]


def test_empty_report_str():
    assert str(DataQualityReport(rows_in=3, rows_out=3)) == "Data quality: 3 rows in, 3 rows out"


def test_raw_lending_club_text_is_read_and_counted_as_repaired():
    raw = pd.DataFrame(
        [
            _row(
                int_rate="11.22%",
                term=" 36 months",
                revol_util="53.7%",
                issue_d="Dec-2011",
                earliest_cr_line="Jan-2003",
            ),
            _row(
                loan_status="Charged Off",
                int_rate="10.59%",
                term=" 60 months",
                revol_util="30.8%",
                issue_d="Dec-2011",
                earliest_cr_line="Dec-1996",
            ),
            _row(loan_status="Charged Off", int_rate="n/a", revol_util=None, dti=9.0),
        ]
    )
    X, y, time, report = prepare(raw, get_profile("lending_club_2007_2011"))
    assert X["int_rate"].tolist() == pytest.approx([0.1122, 0.1059])
    assert X["revol_util"].tolist() == pytest.approx([0.537, 0.308])
    assert X["term"].tolist() == [36.0, 60.0]
    assert X["credit_age_months"].tolist() == [107.0, 180.0]
    assert time.tolist() == [pd.Timestamp("2011-12-01")] * 2
    counts = {(i.rule, i.column, i.action): i.n_rows for i in report.issues}
    assert counts == {
        ("percent_text", "int_rate", "repaired"): 2,
        ("unparseable_number", "int_rate", "rejected"): 1,
        ("percent_text", "revol_util", "repaired"): 2,
        ("months_text", "term", "repaired"): 2,
    }

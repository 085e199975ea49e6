"""Dataset profiles, prepare, schema and splits, on the bundled data and small hand-made frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import lendscore.data as data
from lendscore.data import (
    APPLICANT_SCHEMA,
    PROFILES,
    FactorGroup,
    custom_profile,
    get_profile,
    load_bundled,
    prepare,
    random_split,
    time_split,
)
from lendscore.errors import ConfigError, DataError, SchemaError, TargetError

LC = "lending_club_2007_2011"
LC_X_COLUMNS = [
    "loan_amnt",
    "term",
    "int_rate",
    "installment",
    "grade",
    "sub_grade",
    "emp_length",
    "home_ownership",
    "annual_inc",
    "verification_status",
    "purpose",
    "dti",
    "delinq_2yrs",
    "inq_last_6mths",
    "mths_since_last_delinq",
    "mths_since_last_record",
    "open_acc",
    "pub_rec",
    "revol_bal",
    "revol_util",
    "total_acc",
    "collections_12_mths_ex_med",
    "chargeoff_within_12_mths",
    "pub_rec_bankruptcies",
    "tax_liens",
    "acc_now_delinq",
    "delinq_amnt",
    "credit_age_months",
    "nth",
    "nth_ratio",
]


@pytest.fixture(scope="module")
def lc_raw() -> pd.DataFrame:
    return load_bundled("lending_club")


@pytest.fixture(scope="module")
def lc(lc_raw):
    return prepare(lc_raw, get_profile(LC))


@pytest.mark.parametrize(
    ("include_non_policy", "n", "n_event", "n_out_of_scope"),
    [(False, 39_786, 5_670, 2_749), (True, 42_535, 6_431, 0)],
)
def test_lending_club_population(lc_raw, include_non_policy, n, n_event, n_out_of_scope):
    X, y, time, report = prepare(lc_raw, get_profile(LC, include_non_policy=include_non_policy))
    assert (len(X), int(y.sum()), report.rows_out) == (n, n_event, n)
    assert report.count("target_out_of_scope") == n_out_of_scope
    assert report.rows_in - report.rows_out == report.n_rejected


def test_lending_club_prepared_frame(lc):
    X, y, time, report = lc
    assert list(X.columns) == LC_X_COLUMNS
    assert y.name == "loan_status" and set(y.unique()) == {0, 1}
    assert pd.api.types.is_datetime64_any_dtype(time)
    assert (time.min(), time.max()) == (pd.Timestamp("2007-06-01"), pd.Timestamp("2011-12-01"))
    assert report.dropped_columns["earliest_cr_line"] == "replaced by credit_age_months"
    assert report.dropped_columns["addr_state"].startswith("excluded by the profile: the state of residence")
    assert set(report.dropped_columns) == {"earliest_cr_line", "addr_state"}
    assert X["credit_age_months"].min() >= 0
    # NTH checked on the first loan: 38,556 a year, dti 14.04, instalment 656.86.
    income = 38_556 / 12
    nth = income - 0.1404 * income - 656.86
    assert X.loc[0, "nth"] == pytest.approx(nth)
    assert X.loc[0, "nth_ratio"] == pytest.approx(nth / income)
    assert X.loc[0, "credit_age_months"] == 59  # 2003-01 to 2007-12


def test_ordinal_columns_are_ordered_and_unknown_categories_rejected_and_counted(lc_raw):
    raw = lc_raw.head(400).copy()
    raw.loc[[3, 7], "sub_grade"] = "Z9"
    raw.loc[11, "emp_length"] = " 3 years "  # stray blanks are repaired by stripping
    X, y, _, report = prepare(raw, get_profile(LC))
    issue = next(i for i in report.issues if i.rule == "unknown_ordinal_category")
    assert (issue.column, issue.n_rows, issue.action) == ("sub_grade", 2, "rejected")
    assert {3, 7}.isdisjoint(X.index) and len(X) == report.rows_out
    for col in ("grade", "sub_grade", "emp_length"):
        assert isinstance(X[col].dtype, pd.CategoricalDtype) and X[col].dtype.ordered
    assert list(X["sub_grade"].dtype.categories[:6]) == ["A1", "A2", "A3", "A4", "A5", "B1"]
    assert X.loc[11, "emp_length"] == "3 years"
    assert X["emp_length"].isna().sum() == raw.drop(index=[3, 7])["emp_length"].isna().sum()


POST_ORIGINATION = [
    "total_pymnt",
    "total_rec_prncp",
    "recoveries",
    "collection_recovery_fee",
    "last_pymnt_d",
    "next_pymnt_d",
    "last_credit_pull_d",
    "out_prncp",
    "funded_amnt",
    "funded_amnt_inv",
    "pymnt_plan",
    "hardship_flag",
    "settlement_amount",
    "debt_settlement_flag",
]


@pytest.mark.parametrize("column", POST_ORIGINATION)
def test_post_origination_feature_is_refused_by_name(lc_raw, column):
    with pytest.raises(SchemaError, match=column) as info:
        prepare(lc_raw.head(50), get_profile(LC), features=["loan_amnt", column])
    assert "after origination" in str(info.value)


def test_post_origination_columns_dropped_from_raw_and_listed(lc_raw):
    raw = lc_raw.head(500).assign(
        total_pymnt=1.0, recoveries=0.0, last_pymnt_d="2012-01-01", zip_code="871xx", emp_title="nurse"
    )
    X, _, _, report = prepare(raw, get_profile(LC))
    assert {"total_pymnt", "recoveries", "last_pymnt_d", "zip_code", "emp_title"}.isdisjoint(X)
    assert {c: r for c, r in report.dropped_columns.items() if r == "known after origination"} == {
        "total_pymnt": "known after origination",
        "recoveries": "known after origination",
        "last_pymnt_d": "known after origination",
    }
    assert report.dropped_columns["zip_code"] == "identifier or free text"


def test_excluded_column_is_refused_as_a_feature_with_the_reason(lc_raw):
    with pytest.raises(
        SchemaError,
        match=r"'addr_state' is excluded by profile lending_club_2007_2011: "
        r"the state of residence is a geographic proxy",
    ):
        prepare(lc_raw.head(50), get_profile(LC), features=["loan_amnt", "addr_state"])


def test_features_subset_and_missing_feature(lc_raw):
    X, *_ = prepare(lc_raw.head(300), get_profile(LC), features=["revol_util", "nth_ratio"])
    assert list(X.columns) == ["revol_util", "nth_ratio"]
    with pytest.raises(SchemaError, match="no_such"):
        prepare(lc_raw.head(300), get_profile(LC), features=["no_such"])


@pytest.mark.parametrize(
    ("name", "rows_out", "n_event", "rejected"),
    [("german_credit", 1_000, 300, {}), ("belanche", 4_452, 1_253, {"duplicate_row": 2})],  # one duplicate row is bad
)
def test_other_bundled_profiles(name, rows_out, n_event, rejected):
    X, y, time, report = prepare(load_bundled(name), get_profile(name))
    assert (len(X), int(y.sum()), time) == (rows_out, n_event, None)
    assert {i.rule: i.n_rows for i in report.issues} == rejected
    assert PROFILES[name].target not in X


def test_gmsc_special_codes_flagged_and_kept():
    df = pd.DataFrame(
        {
            "Unnamed: 0": [1, 2, 3, 4, 5],
            "SeriousDlqin2yrs": [1, 0, 0, 0, 1],
            "RevolvingUtilizationOfUnsecuredLines": [0.5, 0.1, 0.2, 0.3, 0.9],
            "age": [45, 40, 0, 30, 50],
            "NumberOfTime30-59DaysPastDueNotWorse": [98, 0, 1, 96, 0],
            "NumberOfTime60-89DaysPastDueNotWorse": [98, 0, 0, 0, 0],
            "NumberOfTimes90DaysLate": [98, 0, 0, 0, 1],
            "DebtRatio": [0.8, 0.1, 0.1, 0.2, 0.3],
            "MonthlyIncome": [9120.0, np.nan, 3042.0, 3300.0, 2000.0],
        }
    )
    X, y, _, report = prepare(df, get_profile("give_me_some_credit"))
    assert report.count("out_of_bounds", "age") == 1
    assert report.count("special_code", "NumberOfTime30-59DaysPastDueNotWorse") == 2
    assert report.count("special_code") == 4
    assert X["NumberOfTime30-59DaysPastDueNotWorse"].tolist() == [98, 0, 96, 0]
    assert "Unnamed: 0" not in X and y.tolist() == [1, 0, 0, 1]


@pytest.mark.parametrize(
    ("name", "missing"),
    [
        (LC, ()),
        ("give_me_some_credit", (FactorGroup.CREDIT_AGE, FactorGroup.CREDIT_INQUIRIES)),
        ("belanche", (FactorGroup.CREDIT_UTILIZATION, FactorGroup.CREDIT_AGE, FactorGroup.CREDIT_INQUIRIES)),
        ("german_credit", (FactorGroup.CREDIT_UTILIZATION, FactorGroup.CREDIT_AGE, FactorGroup.CREDIT_INQUIRIES)),
    ],
)
def test_missing_factors(name, missing):
    assert get_profile(name).missing_factors == missing


def test_missing_factors_message():
    assert get_profile("give_me_some_credit").missing_factors_message == (
        "give_me_some_credit has no credit age and no credit inquiries fields; "
        "scores built on it cannot use these factors"
    )
    assert get_profile(LC).missing_factors_message == ""
    assert get_profile(LC).factor_of("revol_util") is FactorGroup.CREDIT_UTILIZATION


def test_profiles_map_only_declared_fields():
    declared = {f.name for f in APPLICANT_SCHEMA}
    for profile in PROFILES.values():
        assert set(profile.field_map) <= declared, profile.name
    assert {f.group for f in APPLICANT_SCHEMA} == set(FactorGroup) and len(FactorGroup) == 5


def test_unknown_profile():
    with pytest.raises(ConfigError, match="give_me_some_credit"):
        get_profile("gmsc")


@pytest.mark.parametrize(
    ("target", "bad", "match"),
    [
        ([0, 1, 2, 1], "1", r"exactly two values.*\{1: 2, 0: 1, 2: 1\}"),
        (["a", "a", "a", "a"], "a", r"exactly two values.*\{'a': 4\}"),
        (["a", "b", "a", "b"], "c", r"bad value \['c'\]"),
    ],
)
def test_custom_profile_target_errors(target, bad, match):
    df = pd.DataFrame({"y": target, "x": [1.0, 2.0, 3.0, 4.0]})
    with pytest.raises(TargetError, match=match):
        prepare(df, custom_profile("y", bad))


def test_custom_profile_bad_value_from_command_line_text():
    df = pd.DataFrame(
        {"y": [0, 1, 0, 1, None], "when": ["2020-01-01"] * 4 + ["2020-02-01"], "x": [1.0, 2.0, 3.0, 4.0, 5.0]}
    )
    X, y, time, report = prepare(df, custom_profile("y", "1", time_column="when"))
    assert y.tolist() == [0, 1, 0, 1] and list(X.columns) == ["x"]
    assert report.count("missing_target") == 1 and len(time) == 4


def test_single_class_after_filtering_is_target_error(lc_raw):
    charged_off = lc_raw[lc_raw["loan_status"] == "Charged Off"].head(20)
    with pytest.raises(TargetError, match="both classes"):
        prepare(charged_off, get_profile(LC))


def test_time_split_out_of_time(lc):
    _, y, time, _ = lc
    train, test = time_split(time, "2011-01-01")
    assert train.dtype == bool and not (train & test).any() and (train | test).all()
    assert time[train].max() < pd.Timestamp("2011-01-01") <= time[test].min()
    assert int(test.sum()) == int((time.dt.year == 2011).sum())
    train, test = time_split(time, "2010-01-01", test_to="2010-07-01")
    assert time[test].max() == pd.Timestamp("2010-06-01") and not (train & test).any()


@pytest.mark.parametrize(
    ("test_from", "test_to", "error", "match"),
    [
        ("2030-01-01", None, DataError, "test side empty"),
        ("2000-01-01", None, DataError, "train side empty"),
        ("2011-01-01", "2010-01-01", ConfigError, "test_to must be after"),
        ("soon", None, ConfigError, "test_from must be a date"),
    ],
)
def test_time_split_errors(test_from, test_to, error, match):
    time = pd.Series(pd.to_datetime(["2010-01-01", "2011-01-01"]), name="issue_d")
    with pytest.raises(error, match=match):
        time_split(time, test_from, test_to=test_to)


def test_random_split_is_stratified_and_seeded(lc):
    y = lc[1]
    train, test = random_split(y, test_size=0.3, seed=42)
    again, _ = random_split(y, test_size=0.3, seed=42)
    other, _ = random_split(y, test_size=0.3, seed=7)
    assert np.array_equal(train, again) and not np.array_equal(train, other)
    assert test.sum() == round(0.3 * len(y)) and not (train & test).any()
    assert abs(y[train].mean() - y[test].mean()) < 0.001


@pytest.mark.parametrize(
    ("y", "test_size", "error"),
    [([0, 0, 0, 0], 0.5, TargetError), ([0, 1, 0, 1], 1.5, ConfigError), ([0, 0, 0, 1], 0.5, DataError)],
)
def test_random_split_errors(y, test_size, error):
    with pytest.raises(error):
        random_split(y, test_size=test_size)


def test_public_api_in_sync():
    assert sorted(data.__all__) == data.__all__
    for name in data.__all__:
        assert hasattr(data, name), name
    public = {n for n in dir(data) if not n.startswith("_")}
    modules = {"bundled", "derivation", "derive", "io", "profiles", "quality", "schema", "split", "annotations"}
    assert public - modules == set(data.__all__)

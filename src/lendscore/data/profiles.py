"""Dataset profiles: how a real dataset maps into the applicant schema, and ``prepare``.

A :class:`DatasetProfile` declares the target and its bad value(s), the time column, categorical
and date columns, special codes, the map from schema fields to the dataset's columns, the bounds
its values must respect, and the columns **refused by name** because they are known only after
origination (using them as features leaks the outcome).

:func:`prepare` applies a profile and returns ``(X, y, time, report)``: ``y`` is 1 for a bad
(default, event) and 0 for a good outcome; ``time`` is the application date (or None);
``report`` is a :class:`~lendscore.data.quality.DataQualityReport` counting every dropped row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from lendscore.data.derivation import (
    CreditAgeMonths,
    Derivation,
    ExistingObligations,
    InputSpec,
    Instalment,
    MonthlyIncome,
    NetTakeHome,
    NthShare,
    derive_frame,
    input_spec_for,
)
from lendscore.data.quality import DataQualityReport, RowValidator, Unit
from lendscore.data.schema import APPLICANT_SCHEMA, FactorGroup
from lendscore.errors import ConfigError, SchemaError, TargetError

__all__ = [
    "DatasetProfile",
    "PROFILES",
    "get_profile",
    "lending_club_profile",
    "custom_profile",
    "prepare",
    "LC_NON_POLICY_BAD",
    "LC_NON_POLICY_GOOD",
    "LC_LENDER_PRICING",
    "LENDING_CLUB_DERIVATION",
]

LC_NON_POLICY_BAD = "Does not meet the credit policy. Status:Charged Off"
LC_NON_POLICY_GOOD = "Does not meet the credit policy. Status:Fully Paid"
Bounds = tuple[float | None, float | None]


@dataclass(frozen=True)
class DatasetProfile:
    """How one dataset maps into the applicant schema (see the module docstring).

    ``good_values=None`` means "the target has exactly two values; the one that is not bad is
    good". Otherwise rows whose target is neither good nor bad are outside the modelled population:
    they are dropped and counted (rule ``target_out_of_scope``). ``refused`` holds exact column
    names or prefixes ending in ``*``. ``field_map`` maps schema fields to columns of the prepared
    ``X`` (derived columns included).
    """

    name: str
    target: str
    bad_values: tuple[Any, ...]
    good_values: tuple[Any, ...] | None = None
    time_column: str | None = None
    date_columns: tuple[str, ...] = ()
    date_formats: tuple[str, ...] = ("ISO8601",)
    categorical: tuple[str, ...] = ()
    # categorical columns whose categories have an order (worst to best or best to worst): bins
    # then join adjacent categories only, e.g. sub-grades A1..G5
    ordinal: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    numeric: tuple[str, ...] = ()
    percent_columns: tuple[str, ...] = ()
    month_columns: tuple[str, ...] = ()
    special_codes: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    field_map: Mapping[str, str] = field(default_factory=dict)
    bounds: Mapping[str, Bounds] = field(default_factory=dict)
    refused: tuple[str, ...] = ()
    drop: tuple[str, ...] = ()
    # columns left out of the model by the profile's choice, each with the reason (listed in the
    # data-quality report; asking for one as a feature is refused with that reason)
    excluded: Mapping[str, str] = field(default_factory=dict)
    credit_line_column: str | None = None
    # the declared derivation of model inputs from raw fields (written into every model trained
    # through the profile: the model file, not the profile, is what scoring reads)
    derivation: Derivation = field(default_factory=Derivation)
    description: str = ""

    def input_spec(self, kinds: Mapping[str, str], X: pd.DataFrame | None = None) -> InputSpec:
        """The applicant schema of a model with inputs ``kinds`` trained through this profile:
        its derivation, the raw fields it reads (dates as dates) and the profile's value rules."""
        raw = {
            f: ("date" if f in self.date_columns else "category" if f in self.categorical else "number")
            for f in self.derivation.raw_fields
        }
        bounds = {k: v for k, v in self.bounds.items()}
        return input_spec_for(
            kinds, derivation=self.derivation, raw_types=raw, bounds=bounds, X=X, ignored=dict(self.excluded)
        )

    def is_refused(self, column: str) -> bool:
        """True if ``column`` is known only after origination (refused as a feature)."""
        return any(column.startswith(r[:-1]) if r.endswith("*") else column == r for r in self.refused)

    @property
    def missing_factors(self) -> tuple[FactorGroup, ...]:
        """Factor groups with no field in this dataset."""
        groups = {f.group for f in APPLICANT_SCHEMA if f.name in self.field_map}
        return tuple(g for g in FactorGroup if g not in groups)

    @property
    def missing_factors_message(self) -> str:
        """A sentence saying which factor groups this dataset lacks ("" if none)."""
        if not self.missing_factors:
            return ""
        names = " and no ".join(g.value.replace("_", " ") for g in self.missing_factors)
        return (
            f"{self.name} has no {names} fields; scores built on it cannot use "
            f"{'this factor' if len(self.missing_factors) == 1 else 'these factors'}"
        )

    def factor_of(self, column: str) -> FactorGroup | None:
        """The factor group of a prepared column (None if it maps to no schema field)."""
        groups = {f.name: f.group for f in APPLICANT_SCHEMA}
        for fld, col in self.field_map.items():
            if col == column:
                return groups[fld]
        return None


# -- Lending Club --------------------------------------------------------------------------------
LENDING_CLUB_DERIVATION = Derivation(
    operations=(
        CreditAgeMonths(
            output="credit_age_months", application_date="issue_d", earliest_credit_line="earliest_cr_line"
        ),
        Instalment(
            output="installment", given="installment", amount="loan_amnt", annual_rate="int_rate", term_months="term"
        ),
        MonthlyIncome(output="monthly_income", annual_income="annual_inc"),
        # LC's dti is a percentage of monthly income, excluding mortgage and the new loan
        ExistingObligations(
            output="existing_obligations", debt_to_income_percent="dti", monthly_income="monthly_income"
        ),
        NetTakeHome(
            output="nth",
            monthly_income="monthly_income",
            existing_obligations="existing_obligations",
            instalment="installment",
        ),
        NthShare(output="nth_ratio", nth="nth", monthly_income="monthly_income"),
    ),
    intermediate=("monthly_income", "existing_obligations"),
)
"""Lending Club's model inputs from its raw fields: credit age from ``issue_d`` and
``earliest_cr_line``, NTH and NTH share from ``annual_inc``, ``dti`` and the instalment."""


_LC_COUNTS = (
    "delinq_2yrs",
    "inq_last_6mths",
    "open_acc",
    "pub_rec",
    "total_acc",
    "revol_bal",
    "pub_rec_bankruptcies",
    "tax_liens",
    "collections_12_mths_ex_med",
    "chargeoff_within_12_mths",
    "acc_now_delinq",
    "delinq_amnt",
    "mths_since_last_delinq",
    "mths_since_last_record",
    "mths_since_last_major_derog",
)


LC_LENDER_PRICING = ("grade", "sub_grade", "int_rate")
"""Lending Club's own grade, sub-grade and interest rate: the lender's pricing of the very risk the
scorecard estimates (a model built on a model)."""


def lending_club_profile(*, include_non_policy: bool = False, without_pricing: bool = False) -> DatasetProfile:
    """Lending Club 2007-2011 (LoanStats3a). Bad = ``Charged Off``; good = ``Fully Paid``.

    ``without_pricing=True`` leaves out :data:`LC_LENDER_PRICING` (still read by the instalment's
    derivation when an application has no instalment): how much of the score's power is the
    scorecard's own, and how much is borrowed from the lender's pricing.

    With ``include_non_policy=True`` the "Does not meet the credit policy. Status:..." loans are
    modelled too (their Charged Off variant is bad); by default they are dropped and counted.
    ``int_rate``/``revol_util`` are fractions and ``term`` is in months, as in our copy.
    """
    bad = ("Charged Off",) + ((LC_NON_POLICY_BAD,) if include_non_policy else ())
    good = ("Fully Paid",) + ((LC_NON_POLICY_GOOD,) if include_non_policy else ())
    return DatasetProfile(
        name="lending_club_2007_2011" + ("_without_pricing" if without_pricing else ""),
        target="loan_status",
        bad_values=bad,
        good_values=good,
        time_column="issue_d",
        date_columns=("issue_d", "earliest_cr_line"),
        date_formats=("ISO8601", "%b-%Y"),  # our copy is ISO; raw LC downloads say "Dec-2011"
        percent_columns=("int_rate", "revol_util"),
        month_columns=("term",),
        categorical=(
            "grade",
            "sub_grade",
            "emp_length",
            "home_ownership",
            "verification_status",
            "purpose",
            "initial_list_status",
            "application_type",
        ),
        ordinal={
            "grade": tuple("ABCDEFG"),
            "sub_grade": tuple(f"{g}{i}" for g in "ABCDEFG" for i in range(1, 6)),
            "emp_length": ("< 1 year", "1 year", *(f"{i} years" for i in range(2, 10)), "10+ years"),
        },
        numeric=("loan_amnt", "term", "int_rate", "installment", "annual_inc", "dti", "revol_util") + _LC_COUNTS,
        field_map={
            "delinquencies_2y": "delinq_2yrs",
            "months_since_last_delinquency": "mths_since_last_delinq",
            "months_since_last_record": "mths_since_last_record",
            "public_records": "pub_rec",
            "bankruptcies": "pub_rec_bankruptcies",
            "revolving_utilization": "revol_util",
            "revolving_balance": "revol_bal",
            "credit_age_months": "credit_age_months",
            "inquiries_6m": "inq_last_6mths",
            "annual_income": "annual_inc",
            "debt_to_income": "dti",
            "requested_amount": "loan_amnt",
            "term_months": "term",
            "annual_rate": "int_rate",
            "instalment": "installment",
        },
        bounds={
            "revol_util": (0, 5),
            "annual_inc": (0, None),
            "dti": (0, None),
            "loan_amnt": (0, None),
            "int_rate": (0, 1),
            "term": (1, 600),
            "installment": (0, None),
            **{c: (0, None) for c in _LC_COUNTS},
        },
        refused=(
            "total_pymnt*",
            "total_rec_*",
            "recoveries",
            "collection_recovery_fee",
            "last_pymnt_*",
            "next_pymnt_d",
            "last_credit_pull_d",
            "out_prncp*",
            "funded_amnt",
            "funded_amnt_inv",
            "pymnt_plan",
            "hardship_*",
            "settlement_*",
            "debt_settlement_*",
        ),
        drop=("id", "member_id", "url", "desc", "emp_title", "title", "zip_code"),
        excluded={
            "addr_state": "the state of residence is a geographic proxy that fair-lending review "
            "questions, and it does not help out of time (2011 AUC 0.6990 without it, "
            "0.6975 with it)",
            **(
                dict.fromkeys(
                    LC_LENDER_PRICING,
                    "Lending Club's own pricing of the same risk (a model built on a model); this "
                    "variant measures the score without it",
                )
                if without_pricing
                else {}
            ),
        },
        credit_line_column="earliest_cr_line",
        derivation=LENDING_CLUB_DERIVATION,
        description="LendingClub accepted loans issued 2007-06 to 2011-12 (LoanStats3a)"
        + (", without the lender's own grade, sub-grade and rate" if without_pricing else ""),
    )


_GMSC_PAST_DUE = (
    "NumberOfTime30-59DaysPastDueNotWorse",
    "NumberOfTime60-89DaysPastDueNotWorse",
    "NumberOfTimes90DaysLate",
)

PROFILES: dict[str, DatasetProfile] = {
    "lending_club_2007_2011": lending_club_profile(),
    "lending_club_2007_2011_without_pricing": lending_club_profile(without_pricing=True),
    "give_me_some_credit": DatasetProfile(
        name="give_me_some_credit",
        target="SeriousDlqin2yrs",
        bad_values=(1,),
        good_values=(0,),
        special_codes=dict.fromkeys(_GMSC_PAST_DUE, (96.0, 98.0)),
        field_map={
            "past_due_30_59": _GMSC_PAST_DUE[0],
            "past_due_60_89": _GMSC_PAST_DUE[1],
            "past_due_90": _GMSC_PAST_DUE[2],
            "revolving_utilization": "RevolvingUtilizationOfUnsecuredLines",
            "monthly_income": "MonthlyIncome",
            "debt_ratio": "DebtRatio",
        },
        bounds={
            "MonthlyIncome": (0, None),
            "DebtRatio": (0, None),
            "age": (18, 120),
            "RevolvingUtilizationOfUnsecuredLines": (0, None),
            **{c: (0, None) for c in _GMSC_PAST_DUE},
        },
        description="Kaggle Give Me Some Credit (2011), 90+ days past due within 2 years",
    ),
    "german_credit": DatasetProfile(
        name="german_credit",
        target="credit_risk",
        bad_values=(2,),
        good_values=(1,),
        categorical=(
            "checking_account_status",
            "credit_history",
            "purpose",
            "savings_account_bonds",
            "present_employment_since",
            "personal_status_and_sex",
            "other_debtors_guarantors",
            "property",
            "other_installment_plans",
            "housing",
            "job",
            "telephone",
            "foreign_worker",
        ),
        field_map={
            "credit_history_code": "credit_history",
            "requested_amount": "credit_amount",
            "term_months": "duration_months",
            "installment_rate_pct": "installment_rate_pct_of_disposable_income",
        },
        bounds={"credit_amount": (0, None), "duration_months": (1, 600), "age_years": (18, 120)},
        description="Statlog German Credit (Hofmann 1994, UCI); credit_risk 2 = bad",
    ),
    "belanche": DatasetProfile(
        name="belanche",
        target="Status",
        bad_values=("bad",),
        good_values=("good",),
        categorical=("Home", "Marital", "Records", "Job"),
        field_map={
            "adverse_records": "Records",
            "monthly_income": "Income",
            "existing_obligations": "Expenses",
            "requested_amount": "Amount",
            "term_months": "Time",
        },
        bounds={
            "Income": (0, None),
            "Expenses": (0, None),
            "Assets": (0, None),
            "Debt": (0, None),
            "Amount": (0, None),
            "Time": (1, 600),
            "Age": (18, 120),
        },
        description="Belanche CreditScoring (UPC, via tidymodels/modeldata); Status bad = bad",
    ),
}


def get_profile(name: str, *, include_non_policy: bool = False) -> DatasetProfile:
    """Profile by name (``sorted(PROFILES)``); ``include_non_policy`` applies to Lending Club."""
    if name not in PROFILES:
        raise ConfigError(f"profile must be one of {sorted(PROFILES)}; got {name!r}")
    if name == "lending_club_2007_2011" and include_non_policy:
        return lending_club_profile(include_non_policy=True)
    return PROFILES[name]


def custom_profile(
    target: str,
    bad_value: Any,
    *,
    time_column: str | None = None,
    categorical: Sequence[str] = (),
    refused: Sequence[str] = (),
    drop: Sequence[str] = (),
    bounds: Mapping[str, Bounds] | None = None,
    name: str = "custom",
) -> DatasetProfile:
    """A profile for the user's own data: the target column and its bad value (as typed on the
    command line: ``"1"`` matches an integer 1). The target must have exactly two values."""
    return DatasetProfile(
        name=name,
        target=target,
        bad_values=(bad_value,),
        time_column=time_column,
        date_columns=(time_column,) if time_column else (),
        categorical=tuple(categorical),
        refused=tuple(refused),
        drop=tuple(drop),
        bounds=dict(bounds or {}),
    )


# -- prepare -------------------------------------------------------------------------------------
def _value_counts(s: pd.Series) -> dict[Any, int]:
    return {k: int(v) for k, v in s.value_counts(dropna=False).items()}


def _same(a: Any, b: Any) -> bool:
    """Equal as given, as numbers ("1" == 1 == 1.0) or as text."""
    if a == b:
        return True
    try:
        return float(a) == float(b)
    except (TypeError, ValueError):
        return str(a) == str(b)


def _resolve(values: tuple[Any, ...], present: Sequence[Any]) -> tuple[Any, ...]:
    """Match declared target values to the column's values, also as numbers or text."""
    return tuple(next((p for p in present if _same(v, p)), v) for v in values)


def prepare(
    df: pd.DataFrame,
    profile: DatasetProfile,
    *,
    features: Sequence[str] | None = None,
    strict: bool = False,
    source: str | None = None,
) -> tuple[pd.DataFrame, pd.Series, pd.Series | None, DataQualityReport]:
    """Apply ``profile`` to raw rows; return ``(X, y, time, report)``.

    Post-origination columns present in ``df`` are dropped and listed in
    ``report.dropped_columns``; naming one in ``features`` raises ``SchemaError``, as does naming a
    column the profile excludes (with the profile's reason). ``y`` is 1 =
    bad; ``X`` keeps the input index. ``strict=True`` raises ``ValidationError`` on the first
    broken value rule instead of dropping rows. Raises ``TargetError`` when the target is not
    binary after filtering.
    """
    label = source or profile.name
    if profile.target not in df.columns:
        raise SchemaError(
            f"target column {profile.target!r} not found; columns: {list(df.columns)}",
            source=label,
            column=profile.target,
        )
    if features is not None:
        excluded = [c for c in features if c in profile.excluded]
        if excluded:
            raise SchemaError(
                f"column {excluded[0]!r} is excluded by profile {profile.name}: {profile.excluded[excluded[0]]}",
                source=label,
                column=excluded[0],
            )
        refused = [c for c in features if profile.is_refused(c)]
        if refused:
            raise SchemaError(
                f"columns {refused} are known only after origination and are refused as "
                f"features (profile {profile.name})",
                source=label,
                column=refused[0],
            )
    v = RowValidator(df, source=label, strict=strict)
    v.drop_columns([c for c in df.columns if str(c).startswith("Unnamed: ")], "row index column")
    v.check_duplicates()
    v.drop_columns([c for c in df.columns if profile.is_refused(c)], "known after origination")
    v.drop_columns(list(profile.drop), "identifier or free text")
    for col, why in profile.excluded.items():
        v.drop_columns([col], f"excluded by the profile: {why}")
    t = profile.target
    v.check_missing(t)
    present = list(pd.unique(v.df.loc[v.keep, t].dropna()))
    bad = _resolve(profile.bad_values, present)
    if profile.good_values is None:
        if len(present) != 2 or not set(bad) <= set(present):
            raise TargetError(
                f"target {t!r} must have exactly two values, one of them the bad value "
                f"{list(profile.bad_values)}; got {_value_counts(v.df.loc[v.keep, t])}"
            )
        good = tuple(x for x in present if x not in bad)
    else:
        good = _resolve(profile.good_values, present)
        v.reject(
            "target_out_of_scope",
            t,
            ~v.df[t].isin(bad + good).to_numpy(),
            f"{t} must be one of {list(bad + good)} (other statuses are not modelled)",
            validity=False,
        )
    for col in profile.numeric:
        if col in v.df.columns:
            unit: Unit | None = (
                "percent" if col in profile.percent_columns else "months" if col in profile.month_columns else None
            )
            v.parse_numbers(col, unit=unit)
    for col in v.df.columns:
        s_ = v.df[col]
        if col != t and pd.api.types.is_numeric_dtype(s_) and not pd.api.types.is_bool_dtype(s_):
            v.check_magnitude(col)
    for col in profile.date_columns:
        if col in v.df.columns:
            v.parse_dates(col, profile.date_formats)
    for col, order in profile.ordinal.items():
        if col in v.df.columns:
            v.parse_ordinal(col, order)
    for col, (lo, hi) in profile.bounds.items():
        if col in v.df.columns:
            v.check_bounds(col, lo, hi)
    first_line, applied = profile.credit_line_column, profile.time_column
    if first_line is not None and applied is not None and first_line in v.df.columns and applied in v.df.columns:
        v.check_not_after(first_line, applied)
    for col, codes in profile.special_codes.items():
        if col in v.df.columns:
            v.flag_special_codes(col, codes)
    kept, report = v.result()
    y = kept[t].isin(bad).astype("int64").rename(t)
    counts = {"n_event": int(y.sum()), "n_nonevent": int(len(y) - y.sum())}
    if min(counts.values()) == 0:
        raise TargetError(
            f"target {t!r} must hold both classes after validation; got {counts} "
            f"(bad = {list(bad)}, good = {list(good)})"
        )
    time = kept[profile.time_column] if profile.time_column in kept.columns else None
    X = kept.drop(columns=[t, *profile.date_columns], errors="ignore")
    if profile.derivation.operations:
        derived = derive_frame(kept.drop(columns=[t]), InputSpec(derivation=profile.derivation), source=label)
        X = derived.drop(columns=[*profile.date_columns, *profile.derivation.intermediate], errors="ignore")
        if "credit_age_months" in X.columns and profile.credit_line_column:
            report.dropped_columns[profile.credit_line_column] = "replaced by credit_age_months"
    if features is not None:
        missing = [c for c in features if c not in X.columns]
        if missing:
            raise SchemaError(f"feature columns {missing} not found; available: {list(X.columns)}", source=label)
        X = X[list(features)]
    return X, y, time, report

"""Data layer: reading tables, the applicant schema, dataset profiles, quality checks, splits.

Typical use::

    from lendscore.data import load_bundled, get_profile, prepare, time_split
    raw = load_bundled("lending_club")
    X, y, time, report = prepare(raw, get_profile("lending_club_2007_2011"))
    train, test = time_split(time, "2011-01-01")
"""

from __future__ import annotations

from lendscore.data.bundled import BUNDLED, BUNDLED_PROFILES, bundled_path, load_bundled
from lendscore.data.derive import (
    credit_age_months,
    emi,
    net_take_home,
    nth_share_of_income,
)
from lendscore.data.io import SUPPORTED_SUFFIXES, count_rows, iter_batches, read_table
from lendscore.data.profiles import (
    LC_NON_POLICY_BAD,
    LC_NON_POLICY_GOOD,
    PROFILES,
    DatasetProfile,
    custom_profile,
    get_profile,
    lending_club_profile,
    prepare,
)
from lendscore.data.quality import DataQualityReport, QualityIssue, RowValidator
from lendscore.data.schema import APPLICANT_SCHEMA, FactorGroup, FieldSpec, field_spec
from lendscore.data.split import random_split, time_split

__all__ = [
    "APPLICANT_SCHEMA",
    "BUNDLED",
    "BUNDLED_PROFILES",
    "DataQualityReport",
    "DatasetProfile",
    "FactorGroup",
    "FieldSpec",
    "LC_NON_POLICY_BAD",
    "LC_NON_POLICY_GOOD",
    "PROFILES",
    "QualityIssue",
    "RowValidator",
    "SUPPORTED_SUFFIXES",
    "bundled_path",
    "count_rows",
    "credit_age_months",
    "custom_profile",
    "emi",
    "field_spec",
    "get_profile",
    "iter_batches",
    "lending_club_profile",
    "load_bundled",
    "net_take_home",
    "nth_share_of_income",
    "prepare",
    "random_split",
    "read_table",
    "time_split",
]

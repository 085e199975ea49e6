"""Exceptions raised by lendscore.

Every error names what failed (a file, a column, a parameter or a field), the rule it broke and
the value it got, so that a command-line user, an API client and the audit log can all show it
without a traceback.

Exception tree::

    LendscoreError
    ├── ConfigError            a parameter or configuration key is unknown or out of range
    ├── DataError              input data break a rule
    │   ├── SchemaError        a column is missing, has the wrong type, or is refused (leakage)
    │   └── ValidationError    rows break a value rule; carries ``failure_cases``
    ├── TargetError            the outcome column is not a usable binary target
    ├── ModelError             a model cannot be fitted or used
    │   ├── NotFittedError     (also a scikit-learn ``NotFittedError``)
    │   └── ArtifactError      a model file is truncated, edited, or of an unknown format version
    └── PolicyError            a credit policy or a loan request breaks a rule
"""

from __future__ import annotations

from typing import Any

from sklearn.exceptions import NotFittedError as _SkNotFittedError

__all__ = [
    "LendscoreError",
    "ConfigError",
    "DataError",
    "SchemaError",
    "ValidationError",
    "TargetError",
    "ModelError",
    "NotFittedError",
    "ArtifactError",
    "PolicyError",
]


class LendscoreError(Exception):
    """Base class of every error lendscore raises on purpose."""


class ConfigError(LendscoreError, ValueError):
    """A parameter or configuration key is unknown or its value is out of range."""


class DataError(LendscoreError, ValueError):
    """Input data break a rule. ``source`` names the file or table when known, ``column`` the
    field and ``rule`` the rule broken (e.g. "must be >= 0"), so an API can show them apart."""

    def __init__(self, message: str, *, source: str | None = None, column: str | None = None, rule: str | None = None):
        self.source = source
        self.column = column
        self.rule = rule
        prefix = f"{source}: " if source else ""
        super().__init__(prefix + message)


class SchemaError(DataError):
    """A column is missing, has the wrong type, or is refused by name (known only after origination)."""


class ValidationError(DataError):
    """Rows break a value rule.

    ``failure_cases`` lists the failing rows as dicts ``{"row": int, "column": str, "value": Any}``
    (at most a handful, the first ones) so that callers can show examples.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        column: str | None = None,
        rule: str | None = None,
        failure_cases: list[dict[str, Any]] | None = None,
    ):
        self.failure_cases = list(failure_cases or [])
        super().__init__(message, source=source, column=column, rule=rule)


class TargetError(LendscoreError, ValueError):
    """The outcome column is missing, has more than two values, or only one class."""


class ModelError(LendscoreError):
    """A model cannot be fitted or used."""


class NotFittedError(ModelError, _SkNotFittedError):
    """The estimator is used before ``fit``."""


class ArtifactError(ModelError, ValueError):
    """A model file is truncated, edited (checksum mismatch) or of an unsupported format version."""


class PolicyError(LendscoreError, ValueError):
    """A credit policy file or a loan request breaks a rule (field, rule and value are named)."""

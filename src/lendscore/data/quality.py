"""Row-level validation that counts every rejected, repaired or flagged row by rule.

Nothing is coerced silently: each rule that drops, repairs or flags rows records a
:class:`QualityIssue` (rule, column, action, number of rows, the first examples and a message in
the house form "revol_util must be in [0, 5]; got 12.3 in 4 rows (first: row 17)").

Conventions:

- **Row numbers** are 0-based positions in the input frame (the first data line of a CSV is row 0).
- Rules run in the order they are called; a row rejected by one rule is not seen by later rules, so
  the ``n_rows`` of the "rejected" issues add up to ``rows_in - rows_out``.
- With ``strict=True`` a validity rule raises :class:`~lendscore.errors.ValidationError` (carrying
  ``failure_cases``) instead of rejecting rows. Scope filters (``validity=False``, e.g. loan statuses
  outside the modelled population) still drop and count rows.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from lendscore.errors import ValidationError

__all__ = ["MAGNITUDE_RULE", "MAX_MAGNITUDE", "QualityIssue", "DataQualityReport", "RowValidator"]

MAX_MAGNITUDE = 1e12
"""Largest absolute value any number of an application may take. No consumer-credit field (an
income, a balance, an amount, a count) comes near it; a larger one is a unit or entry error, and
past it the affordability arithmetic and the points lose precision. Training's data-quality check,
``lendscore decide``, the HTTP API and every scoring door refuse such a value by this one rule."""
MAGNITUDE_RULE = f"must be a finite number within +-{MAX_MAGNITUDE:g}"

Action = Literal["rejected", "repaired", "flagged"]
Unit = Literal["percent", "months"]
_UNITS: dict[str, tuple[re.Pattern[str], float, str, str]] = {
    "percent": (re.compile(r"^(-?\d+(?:\.\d*)?)\s*%$"), 0.01, "percent_text", "'10.65%' -> 0.1065"),
    "months": (re.compile(r"^(\d+)\s*months?$"), 1.0, "months_text", "' 36 months' -> 36"),
}
N_EXAMPLES = 5


def _plain(value: Any) -> Any:
    """A JSON-friendly scalar (numpy and pandas scalars to Python, NaN/NaT to None)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


@dataclass(frozen=True)
class QualityIssue:
    """Rows that broke one rule. ``examples`` holds ``{"row", "value"}`` for the first rows."""

    rule: str
    column: str | None
    action: Action
    n_rows: int
    examples: list[dict[str, Any]]
    message: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class DataQualityReport:
    """What validation did to a dataset.

    ``rows_in``/``rows_out`` count rows before and after; ``issues`` lists each rule that rejected,
    repaired or flagged rows; ``dropped_columns`` maps each removed column to the reason.
    """

    rows_in: int
    rows_out: int
    issues: list[QualityIssue] = field(default_factory=list)
    dropped_columns: dict[str, str] = field(default_factory=dict)
    source: str | None = None

    @property
    def n_rejected(self) -> int:
        """Rows removed by all rules together (equals ``rows_in - rows_out``)."""
        return sum(i.n_rows for i in self.issues if i.action == "rejected")

    def count(self, rule: str, column: str | None = None) -> int:
        """Rows recorded under ``rule`` (and ``column`` when given); 0 if the rule never fired."""
        return sum(i.n_rows for i in self.issues if i.rule == rule and (column is None or i.column == column))

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "rows_in": self.rows_in,
            "rows_out": self.rows_out,
            "issues": [i.to_dict() for i in self.issues],
            "dropped_columns": dict(self.dropped_columns),
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per issue: ``rule, column, action, n_rows, message``."""
        cols = ["rule", "column", "action", "n_rows", "message"]
        return pd.DataFrame([{c: getattr(i, c) for c in cols} for i in self.issues], columns=cols)

    def __str__(self) -> str:
        head = f"Data quality{f' of {self.source}' if self.source else ''}: "
        lines = [head + f"{self.rows_in:,} rows in, {self.rows_out:,} rows out"]
        if self.issues:
            w_rule = max(len("rule"), *(len(i.rule) for i in self.issues))
            w_col = max(len("column"), *(len(str(i.column or "")) for i in self.issues))
            lines.append(f"{'rule':<{w_rule}}  {'column':<{w_col}}  {'action':<8}  {'rows':>7}")
            for i in self.issues:
                lines.append(f"{i.rule:<{w_rule}}  {str(i.column or ''):<{w_col}}  {i.action:<8}  {i.n_rows:>7,}")
        if self.dropped_columns:
            lines.append(f"dropped columns ({len(self.dropped_columns)}):")
            for reason in sorted(set(self.dropped_columns.values())):
                names = [c for c, r in self.dropped_columns.items() if r == reason]
                lines.append(f"  {reason}: {', '.join(names)}")
        return "\n".join(lines)


class RowValidator:
    """Apply row rules to a frame, keeping a mask of surviving rows and a list of issues.

    Use ``reject``/``flag``/``repair`` with a boolean mask (aligned with the frame), or the ready
    rules below, then ``result()`` for the surviving rows and the report.
    """

    def __init__(self, df: pd.DataFrame, *, source: str | None = None, strict: bool = False):
        self.df = df.copy()
        self.rows = np.arange(len(df))  # 0-based input positions
        self.keep = np.ones(len(df), dtype=bool)
        self.source = source
        self.strict = strict
        self.issues: list[QualityIssue] = []
        self.dropped_columns: dict[str, str] = {}
        self.rows_in = len(df)

    # -- recording -----------------------------------------------------------------------------
    def _examples(self, mask: np.ndarray, column: str | None) -> list[dict[str, Any]]:
        idx = np.flatnonzero(mask)[:N_EXAMPLES]
        values = self.df[column].iloc[idx] if column in self.df.columns else [None] * len(idx)
        return [{"row": int(self.rows[i]), "value": _plain(v)} for i, v in zip(idx, values, strict=True)]

    def _record(
        self,
        rule: str,
        column: str | None,
        action: Action,
        mask: np.ndarray,
        what: str,
        *,
        validity: bool = True,
    ) -> int:
        mask = np.asarray(mask, dtype=bool) & self.keep
        n = int(mask.sum())
        if n == 0:
            return 0
        examples = self._examples(mask, column)
        shown = examples[0]["value"]
        message = f"{what}; got {shown!r} in {n} row{'s' if n > 1 else ''} (first: row {examples[0]['row']})"
        if action == "rejected" and self.strict and validity:
            raise ValidationError(
                message,
                source=self.source,
                column=column,
                rule=rule,
                failure_cases=[{"row": e["row"], "column": column, "value": e["value"]} for e in examples],
            )
        self.issues.append(QualityIssue(rule, column, action, n, examples, message))
        if action == "rejected":
            self.keep &= ~mask
        return n

    def reject(self, rule: str, column: str | None, mask: Any, what: str, *, validity: bool = True) -> int:
        """Drop the rows in ``mask`` (or raise in strict mode); return how many."""
        return self._record(rule, column, "rejected", mask, what, validity=validity)

    def flag(self, rule: str, column: str | None, mask: Any, what: str) -> int:
        """Count the rows in ``mask`` without changing them; return how many."""
        return self._record(rule, column, "flagged", mask, what)

    def repair(self, rule: str, column: str | None, mask: Any, what: str) -> int:
        """Count the rows in ``mask`` whose value the caller converts; return how many."""
        return self._record(rule, column, "repaired", mask, what)

    def drop_columns(self, columns: list[str], reason: str) -> None:
        """Remove columns present in the frame and record why."""
        present = [c for c in columns if c in self.df.columns]
        self.df = self.df.drop(columns=present)
        self.dropped_columns.update(dict.fromkeys(present, reason))

    # -- ready rules ---------------------------------------------------------------------------
    def check_missing(self, column: str, rule: str = "missing_target") -> int:
        return self.reject(rule, column, self.df[column].isna().to_numpy(), f"{column} must not be missing")

    def parse_ordinal(self, column: str, order: Sequence[str]) -> int:
        """Make ``column`` an ordered pandas Categorical in ``order`` (binned as runs of adjacent
        categories); reject rows whose non-missing value is not one of ``order``."""
        text = self.df[column].astype("string").str.strip()
        unknown = (text.notna() & ~text.isin(list(order))).to_numpy()
        n = self.reject("unknown_ordinal_category", column, unknown, f"{column} must be one of {list(order)}")
        known = text.astype(object).where(text.notna() & ~unknown, None)  # rejected rows: missing
        self.df[column] = pd.Categorical(known, categories=list(order), ordered=True)
        return n

    def check_duplicates(self) -> int:
        """Reject exact duplicate rows (all columns equal), keeping the first occurrence."""
        dup = self.df.duplicated(keep="first").to_numpy()
        return self.reject("duplicate_row", None, dup, "rows must not be exact duplicates")

    def parse_numbers(self, column: str, *, unit: Unit | None = None) -> int:
        """Convert ``column`` to float; reject rows whose non-missing value is not a number.

        With ``unit="percent"`` text such as ``"10.65%"`` becomes the fraction 0.1065, and with
        ``unit="months"`` text such as ``" 36 months"`` becomes 36 (raw Lending Club files); such
        rows are counted as "repaired". Returns the number of rejected rows.
        """
        s = self.df[column]
        if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            return 0
        s = s.astype(object)
        if unit is not None:
            pattern, scale, rule, example = _UNITS[unit]

            def match(v: Any) -> re.Match[str] | None:
                return pattern.match(v.strip()) if isinstance(v, str) else None

            hits = s.map(lambda v: match(v) is not None).to_numpy(dtype=bool)
            self.repair(rule, column, hits, f"{column} text read as a number ({example})")
            s = s.map(lambda v: float(m.group(1)) * scale if (m := match(v)) else v)
        parsed = pd.to_numeric(s, errors="coerce")  # failures are counted and rejected below
        bad = (parsed.isna() & s.notna()).to_numpy()
        n = self.reject("unparseable_number", column, bad, f"{column} must be a number")
        self.df[column] = parsed.astype(float)
        return n

    def parse_dates(self, column: str, formats: tuple[str, ...] = ("ISO8601",)) -> int:
        """Convert ``column`` to datetime, trying ``formats`` in order for each value; reject rows
        whose non-missing value matches none of them."""
        s = self.df[column]
        if pd.api.types.is_datetime64_any_dtype(s):
            return 0
        parsed = pd.Series(pd.NaT, index=s.index, dtype="datetime64[us]")
        for fmt in formats:
            todo = parsed.isna() & s.notna()
            if not todo.any():
                break
            parsed[todo] = pd.to_datetime(s[todo], format=fmt, errors="coerce")  # counted below
        bad = (parsed.isna() & s.notna()).to_numpy()
        n = self.reject("unparseable_date", column, bad, f"{column} must be a date ({' or '.join(formats)})")
        self.df[column] = parsed
        return n

    def check_bounds(self, column: str, lower: float | None, upper: float | None) -> int:
        """Reject rows whose value lies outside the inclusive ``[lower, upper]`` (NaN passes)."""
        s = self.df[column]
        bad = np.zeros(len(s), dtype=bool)
        if lower is not None:
            bad |= (s < lower).fillna(False).to_numpy(dtype=bool)
        if upper is not None:
            bad |= (s > upper).fillna(False).to_numpy(dtype=bool)
        lo = "-inf" if lower is None else f"{lower:g}"
        hi = "inf" if upper is None else f"{upper:g}"
        rule = "negative_value" if lower == 0 and upper is None else "out_of_bounds"
        return self.reject(rule, column, bad, f"{column} must be in [{lo}, {hi}]")

    def check_magnitude(self, column: str) -> int:
        """Reject rows whose number is not finite or beyond :data:`MAX_MAGNITUDE` (NaN passes): the
        rule every door applies to every number (``lendscore.data.derivation``)."""
        s = self.df[column]
        x = s.to_numpy(dtype=float, na_value=np.nan)
        bad = ~np.isnan(x) & ~(np.abs(x) <= MAX_MAGNITUDE)
        return self.reject("absurd_magnitude", column, bad, f"{column} {MAGNITUDE_RULE}")

    def check_not_after(self, column: str, reference: str) -> int:
        """Reject rows where date ``column`` is after date ``reference`` (NaT passes)."""
        bad = (self.df[column] > self.df[reference]).fillna(False).to_numpy(dtype=bool)
        return self.reject("date_after_application", column, bad, f"{column} must not be after {reference}")

    def flag_special_codes(self, column: str, codes: tuple[float, ...]) -> int:
        """Count rows holding special codes (left unchanged; binners treat them as their own bin)."""
        bad = self.df[column].isin(codes).to_numpy()
        return self.flag("special_code", column, bad, f"{column} holds special codes {list(codes)} (kept, not a count)")

    # -- result --------------------------------------------------------------------------------
    def result(self) -> tuple[pd.DataFrame, DataQualityReport]:
        """The surviving rows (input index kept) and the report."""
        out = self.df.loc[self.keep]
        report = DataQualityReport(
            rows_in=self.rows_in,
            rows_out=len(out),
            issues=list(self.issues),
            dropped_columns=dict(self.dropped_columns),
            source=self.source,
        )
        return out, report

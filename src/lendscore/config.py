"""Training configuration: a strict TOML file (unknown keys are refused by name).

Example ``scorecard.toml``::

    [scorecard]
    max_n_bins = 10
    monotonic_trend = { dti = "ascending" }
    iv_min = 0.02

    [split]
    test_size = 0.3
    seed = 42
"""
from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lendscore.errors import ConfigError

__all__ = ["ScorecardConfig", "SplitConfig", "TrainConfig", "load_config"]

Trend = Literal["auto", "auto_monotonic", "ascending", "descending", "peak", "valley", "none"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScorecardConfig(_Strict):
    """Arguments of :class:`lendscore.Scorecard` (see its docstring for each)."""

    categorical_features: list[str] | None = None
    special_codes: Literal["auto"] | dict[str, list[float]] | None = "auto"
    monotonic_trend: Trend | dict[str, Trend] = "auto"
    max_n_bins: int = Field(20, ge=2)
    min_bin_size: float | None = Field(None, gt=0)
    max_prebins: int = Field(50, ge=2)
    min_gain: float = Field(0.0, ge=0)
    shape_penalty: float = Field(20.0, ge=0)
    iv_min: float = Field(0.02, ge=0)
    corr_max: float = Field(0.95, gt=0, le=1)
    vif_max: float = Field(10.0, ge=1)
    max_rules: int = Field(10, ge=0)
    rule_min_support: float = Field(0.005, gt=0, lt=0.5)
    C: float | None = Field(None, gt=0)
    class_weight: Literal["balanced"] | None = None
    sign_check: Literal["refit", "warn"] = "refit"
    woe_cv: int = Field(5, ge=0)
    pdo: float = Field(20.0, gt=0)
    base_points: float = 600.0
    base_odds: float = Field(50.0, gt=0)
    grade_pd_bounds: tuple[float, ...] | None = None
    threshold: Literal["f1", "ks"] | float = "f1"

    def estimator_params(self) -> dict:
        params = self.model_dump(exclude_none=False)
        if params["grade_pd_bounds"] is None:
            params.pop("grade_pd_bounds")
        return params


class SplitConfig(_Strict):
    test_size: float = Field(0.3, gt=0, lt=1)
    seed: int = 42
    time_column: str | None = None
    test_from: str | None = None


class TrainConfig(_Strict):
    scorecard: ScorecardConfig = ScorecardConfig()
    split: SplitConfig = SplitConfig()


def _describe(exc: ValidationError, source: str) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(x) for x in err["loc"])
        if err["type"] == "extra_forbidden":
            parts.append(f"unknown key {loc!r}")
        else:
            parts.append(f"{loc}: {err['msg']} (got {err.get('input')!r})")
    return f"{source}: " + "; ".join(parts)


def load_config(path: str | Path | None) -> TrainConfig:
    """Read and validate a TOML training configuration (None: the defaults)."""
    if path is None:
        return TrainConfig()
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: configuration file not found") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    try:
        return TrainConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, str(path))) from exc

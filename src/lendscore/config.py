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

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lendscore.errors import ConfigError
from lendscore.model.params import ScorecardParams

__all__ = ["ScorecardConfig", "SplitConfig", "TrainConfig", "load_config"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


ScorecardConfig = ScorecardParams
"""The ``[scorecard]`` table: :class:`lendscore.model.params.ScorecardParams`, the estimator's own
parameter table (one definition of every rule)."""


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

"""The scorecard's parameters, declared once: name, type, default, allowed values, meaning.

:data:`PARAMETERS` is the one table (scikit-learn keeps its ``_parameter_constraints`` beside each
estimator in the same spirit). :class:`ScorecardParams` is built from it: ``Scorecard`` validates
its arguments with it at ``fit`` and the strict TOML configuration (``[scorecard]`` in
``scorecard.toml``) is that same model, so a rule cannot differ between Python and the config
file. ``Scorecard.__init__`` spells the defaults out (scikit-learn needs explicit arguments); a
test checks them against this table.
"""

from __future__ import annotations

from typing import Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator

from lendscore.errors import ConfigError
from lendscore.model.grades import DEFAULT_PD_BOUNDS, master_scale
from lendscore.model.scaling import Scaling

__all__ = ["PARAMETERS", "ScorecardParams", "Trend", "validate_params"]

Trend = Literal["auto", "auto_monotonic", "ascending", "descending", "peak", "valley", "none"]
"""Shapes of a characteristic's event rate over its bins."""

PARAMETERS: dict[str, tuple[Any, Any]] = {
    "categorical_features": (list[str] | None, Field(None, description="columns forced to be categorical")),
    "special_codes": (
        Literal["auto"] | dict[str, list[float]] | None,
        Field("auto", description='"auto" (9s-family codes), None, or {column: [codes]}'),
    ),
    "monotonic_trend": (Trend | dict[str, Trend], Field("auto", description="a shape, or {column: shape}")),
    "max_n_bins": (int, Field(20, ge=2, description="bins per characteristic at most")),
    "min_bin_size": (float | None, Field(None, gt=0, description="share (< 1) or row count (>= 1) of a bin")),
    "max_prebins": (int, Field(50, ge=2, description="quantile pre-bins before merging")),
    "min_gain": (float, Field(0.0, ge=0, description="log-likelihood a bin split must add")),
    "shape_penalty": (float, Field(20.0, ge=0, description="log-likelihood a peak/valley must gain over monotone")),
    "iv_min": (float, Field(0.02, ge=0, description="least information value of a kept characteristic")),
    "corr_max": (float, Field(0.95, gt=0, le=1, description="largest |correlation| between kept WoE columns")),
    "vif_max": (float, Field(10.0, ge=1, description="largest variance inflation factor")),
    "max_rules": (int, Field(10, ge=0, description="interaction rules at most (0: none)")),
    "rule_min_support": (float, Field(0.005, gt=0, lt=0.5, description="least share of rows a rule covers")),
    "C": (float | None, Field(None, gt=0, description="inverse L2 penalty (None: maximum likelihood)")),
    "class_weight": (Literal["balanced"] | None, Field(None, description="None or 'balanced'")),
    "sign_check": (Literal["refit", "warn"], Field("refit", description="what a contradicting sign does")),
    "woe_cv": (int, Field(5, ge=0, description="folds of cross-fitted WoE (0 or 1: in-sample)")),
    "pdo": (float, Field(20.0, gt=0, description="points to double the odds")),
    "base_points": (float, Field(600.0, description="points at base_odds")),
    "base_odds": (float, Field(50.0, gt=0, description="good:bad odds at base_points")),
    "grade_pd_bounds": (tuple[float, ...], Field(DEFAULT_PD_BOUNDS, description="upper PD of each grade")),
    "threshold": (Literal["f1", "ks"] | float, Field("f1", description="'f1', 'ks' or a PD in (0, 1)")),
    "points_rounding": (
        int | None,
        Field(None, ge=0, le=6, description="decimals of every bin's points (0: whole points; None: unrounded)"),
    ),
    "form": (
        Literal["classic", "penalised"],
        Field("classic", description="'classic' (coefficient x coarse WoE) or 'penalised' (fitted fine-bin log-odds)"),
    ),
    "penalty": (
        Literal["aic", "cv"] | float,
        Field(
            "aic",
            description="penalised form's fusion penalty: 'aic', 'cv' or a multiple (> 0) of the binomial information",
        ),
    ),
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("threshold", check_fields=False)
    @classmethod
    def _pd_threshold(cls, v):
        if isinstance(v, float) and not 0 < v < 1:
            raise ValueError("must be 'f1', 'ks' or a PD in (0, 1)")
        return v

    @field_validator("penalty", check_fields=False)
    @classmethod
    def _positive_penalty(cls, v):
        if isinstance(v, float) and not (0 < v < float("inf")):
            raise ValueError("must be 'aic', 'cv' or a finite number > 0")
        return v

    @field_validator("grade_pd_bounds", check_fields=False)
    @classmethod
    def _master_scale(cls, v):
        master_scale(v)  # raises ValueError naming the rule
        return v

    def estimator_params(self) -> dict[str, Any]:
        """Keyword arguments of :class:`lendscore.Scorecard`."""
        return self.model_dump()


# the fields come from a computed table, which pydantic's create_model overloads cannot type
# (a **dict could also hold its __config__ etc.)
ScorecardParams = create_model(  # type: ignore[call-overload]
    "ScorecardParams",
    __base__=_Strict,
    __doc__="Arguments of lendscore.Scorecard (one table: PARAMETERS).",
    **PARAMETERS,
)


def validate_params(params: dict[str, Any]) -> None:
    """Raise ConfigError naming the parameter, the rule and the value of the first bad argument."""
    try:
        p = ScorecardParams.model_validate(params)
        Scaling(**p.model_dump(include={"pdo", "base_points", "base_odds"}))
    except pydantic.ValidationError as exc:
        err = exc.errors()[0]
        name = str(err["loc"][0]) if err["loc"] else "(parameters)"
        msg = err["msg"].removeprefix("Value error, ")
        raise ConfigError(f"{name} {msg}; got {params.get(name)!r}") from exc
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc

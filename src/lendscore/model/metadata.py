"""Typed metadata of a model file (``metadata`` section): written by one packaging function.

``lendscore train``, ``lendscore retrain`` and :func:`lendscore.training.package_model` all write
this one shape; unknown keys are refused by name, so a new key is added here or nowhere.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ModelMetadata", "Window"]


class Window(BaseModel):
    """A date window, both ends included (ISO dates)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    start: str = Field(alias="from")
    end: str = Field(alias="to")


class ModelMetadata(BaseModel):
    """Where a model comes from and how it did (what a validator and the registry read)."""

    model_config = ConfigDict(extra="forbid")

    model_version: str | None = Field(None, description="the version this file is served as")
    source: str | None = Field(None, description="the training data (file name, table or 'DataFrame')")
    profile: str | None = Field(
        None,
        description="the dataset profile the data went through (informative only: "
        "the file's inputs section carries the derivation)",
    )
    target: str | None = None
    split: str | None = None
    training_window: Window | None = None
    test_window: Window | None = None
    n_train: int | None = None
    n_test: int | None = None
    metrics: dict[str, Any] = Field(default_factory=dict)
    monitoring_reference: dict[str, Any] | None = None
    retrain: dict[str, Any] | None = Field(None, description="the challenger's comparison with its champion")
    created_at: str | None = None
    lendscore_version: str | None = None

    def to_json_dict(self) -> dict[str, Any]:
        """Set fields only, windows as {"start", "end"}."""
        return self.model_dump(exclude_none=True, by_alias=False)

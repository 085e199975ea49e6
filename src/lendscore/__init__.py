"""lendscore: interpretable credit scoring, from loan data to lending decisions."""

from lendscore._version import __version__
from lendscore.errors import (
    ArtifactError,
    ConfigError,
    DataError,
    LendscoreError,
    ModelError,
    PolicyError,
    SchemaError,
    TargetError,
    ValidationError,
)
from lendscore.model.scorecard import Scorecard


def load(path) -> Scorecard:
    """Load a model saved with :meth:`Scorecard.save` (checks format version and checksum)."""
    from lendscore.model.artifact import load_model

    return load_model(path)


__all__ = [
    "__version__",
    "Scorecard",
    "load",
    "LendscoreError",
    "ConfigError",
    "DataError",
    "SchemaError",
    "ValidationError",
    "TargetError",
    "ModelError",
    "ArtifactError",
    "PolicyError",
]

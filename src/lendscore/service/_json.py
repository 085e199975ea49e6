"""Compact JSON for the service: orjson when installed (the ``service`` extra), else the standard library.

Both give the same JSON values; the text may differ in float spelling (``1e-05`` / ``1e-5``).
Non-finite floats must be refused *before* :func:`dumps` (orjson writes them as null):
:func:`non_finite` lists where they are.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

__all__ = ["dumps", "dumps_std", "loads", "non_finite", "HAVE_ORJSON"]

try:
    import orjson as _orjson
except ImportError:  # pragma: no cover - the service extra installs it
    HAVE_ORJSON = False
else:
    HAVE_ORJSON = True


def dumps_std(obj: Any) -> str:
    """The standard library's compact form (the canonical text hashed for idempotency)."""
    return json.dumps(obj, separators=(",", ":"), allow_nan=False)


loads: Callable[[bytes | str], Any]
if HAVE_ORJSON:
    _OPTS = _orjson.OPT_NON_STR_KEYS

    def dumps(obj: Any) -> str:
        return _orjson.dumps(obj, option=_OPTS).decode()

    loads = _orjson.loads
else:  # pragma: no cover
    dumps = dumps_std
    loads = json.loads


def non_finite(obj: Any, path: str = "") -> list[str]:
    """Dotted paths of the NaN / infinite floats in a JSON-ready object."""
    if isinstance(obj, float):
        return [] if math.isfinite(obj) else [path]
    if isinstance(obj, dict):
        return [p for k, v in obj.items() for p in non_finite(v, f"{path}.{k}" if path else str(k))]
    if isinstance(obj, (list, tuple)):
        return [p for i, v in enumerate(obj) for p in non_finite(v, f"{path}.{i}")]
    return []

"""The public API matches __all__, and importing lendscore stays light."""

from __future__ import annotations

import inspect
import subprocess
import sys

import lendscore


def test_all_matches_public_names():
    public = {n for n, v in vars(lendscore).items() if not n.startswith("_") and not inspect.ismodule(v)}
    exported = set(lendscore.__all__) - {"__version__"}
    assert public == exported
    assert len(lendscore.__all__) == len(set(lendscore.__all__))
    for name in lendscore.__all__:
        assert hasattr(lendscore, name), name


def test_import_does_not_load_heavy_extras():
    # the core needs only the core dependencies (pyproject's `dependencies`); rich is left out of the
    # list because scikit-learn >= 1.9 imports it itself when it is installed
    heavy = [
        "fastapi",
        "typer",
        "matplotlib",
        "uvicorn",
        "pyspark",
        "jinja2",
        "sqlalchemy",
        "duckdb",
        "starlette",
        "alembic",
        "httpx",
    ]
    core = (
        "lendscore, lendscore.data, lendscore.model, lendscore.features, lendscore.decision, "
        "lendscore.monitoring, lendscore.validation, lendscore.engine, lendscore.training, lendscore.scoring"
    )
    code = f"import sys, {core}; print([m for m in {heavy!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr

"""Datasets shipped inside the package (``lendscore/data/_files``), so the demo runs offline.

Origins, licences and what was removed are in ``_files/ATTRIBUTION.md``; the files are rebuilt by
``scripts/make_bundled_data.py``. Lending Club is research/education use only.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from lendscore.data.io import read_table
from lendscore.errors import ConfigError, DataError

__all__ = ["BUNDLED", "BUNDLED_PROFILES", "bundled_path", "load_bundled"]

FILES_DIR = Path(__file__).resolve().parent / "_files"

#: Bundled dataset name -> file name in ``_files``.
BUNDLED: dict[str, str] = {
    "lending_club": "lending_club_2007_2011_application.csv.gz",
    "german_credit": "german_credit.csv.gz",
    "belanche": "credit_scoring_belanche.csv.gz",
}

#: Bundled dataset name -> name of its profile in :data:`lendscore.data.profiles.PROFILES`.
BUNDLED_PROFILES: dict[str, str] = {
    "lending_club": "lending_club_2007_2011",
    "german_credit": "german_credit",
    "belanche": "belanche",
}


def bundled_path(name: str) -> Path:
    """Path of the bundled file ``name`` (one of ``sorted(BUNDLED)``)."""
    if name not in BUNDLED:
        raise ConfigError(f"bundled dataset must be one of {sorted(BUNDLED)}; got {name!r}")
    path = FILES_DIR / BUNDLED[name]
    if not path.is_file():
        raise DataError(
            "bundled file missing from the installation (run scripts/make_bundled_data.py)",
            source=str(path),
        )
    return path


def load_bundled(name: str) -> pd.DataFrame:
    """The raw bundled table ``name``; apply its profile with ``prepare`` to model it."""
    return read_table(bundled_path(name))

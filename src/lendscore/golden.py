"""Golden models: one fitted scorecard per bundled dataset with its scores on a fixed sample.

``python -m lendscore.golden --regenerate`` rewrites ``tests/golden/`` (a deliberate command: a
changed golden file is a changed model, and its commit must say why); ``tests/test_golden.py``
refits each model with today's code and compares coefficients, bins and scores with the files.
"""

from __future__ import annotations

import argparse
import gzip
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["GOLDEN_SAMPLE", "fit_golden", "golden_models", "regenerate"]

GOLDEN_SAMPLE = 300
"""Rows of each dataset's test sample whose scores are kept."""


def golden_models() -> dict[str, str]:
    """Bundled dataset -> its profile."""
    from lendscore.data import BUNDLED_PROFILES

    return dict(BUNDLED_PROFILES)


def fit_golden(name: str) -> tuple[Any, pd.DataFrame]:
    """The golden model of bundled dataset ``name`` and its test sample (raw rows, as a user sends
    them: Lending Club out of time from 2011, the others a stratified 30 % with seed 42)."""
    import lendscore
    from lendscore.data import get_profile, load_bundled, prepare, random_split

    profile = get_profile(golden_models()[name])
    raw = load_bundled(name)
    X, y, t, _ = prepare(raw, profile)
    if t is not None:
        train, test = (t < "2011-01-01").to_numpy(), (t >= "2011-01-01").to_numpy()
    else:
        train, test = random_split(y, test_size=0.3, seed=42)
    model = lendscore.Scorecard().fit(X[train], y.to_numpy()[train], inputs=profile)
    sample = raw.loc[X.index[test]].drop(columns=[profile.target, *profile.excluded], errors="ignore")
    return model, sample.head(GOLDEN_SAMPLE)


def _doc(model, sample: pd.DataFrame) -> dict[str, Any]:
    from lendscore.model.artifact import model_to_dict

    doc = model_to_dict(model)
    for key in ("created_at", "lendscore_version"):
        doc.pop(key)
    details = model.score_details(sample)
    doc["golden_sample"] = {
        "pd": details["pd"].tolist(),
        "score": details["score"].tolist(),
        "grade": details["grade"].tolist(),
    }
    return doc


def regenerate(directory: Path) -> list[Path]:
    """Refit every golden model and write ``<dataset>.json.gz`` into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    out = []
    for name in golden_models():
        model, sample = fit_golden(name)
        path = directory / f"{name}.json.gz"
        text = json.dumps(_doc(model, sample), indent=1, sort_keys=True)
        path.write_bytes(gzip.compress(text.encode(), mtime=0))
        out.append(path)
    return out


def read(path: Path) -> dict[str, Any]:
    return json.loads(gzip.decompress(Path(path).read_bytes()))


def compare(name: str, golden: dict[str, Any]) -> dict[str, float]:
    """Largest differences between today's refit of ``name`` and its golden file."""
    model, sample = fit_golden(name)
    now = _doc(model, sample)
    diffs = {
        "pd": float(np.max(np.abs(np.subtract(now["golden_sample"]["pd"], golden["golden_sample"]["pd"])))),
        "score": float(np.max(np.abs(np.subtract(now["golden_sample"]["score"], golden["golden_sample"]["score"])))),
        "coef": float(np.max(np.abs(np.subtract(now["coef"], golden["coef"])))) if now["coef"] else 0.0,
        "intercept": abs(now["intercept"] - golden["intercept"]),
        "grades_differ": float(now["golden_sample"]["grade"] != golden["golden_sample"]["grade"]),
        "structure_differs": float(
            any(now[k] != golden[k] for k in ("selected_features", "rules", "binnings", "inputs", "input_schema"))
        ),
    }
    return diffs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regenerate", action="store_true", help="rewrite the golden files")
    parser.add_argument("--dir", type=Path, default=Path("tests/golden"))
    args = parser.parse_args()
    if not args.regenerate:
        for name in golden_models():
            print(name, compare(name, read(args.dir / f"{name}.json.gz")))
        return
    for p in regenerate(args.dir):
        print(f"wrote {p}")


if __name__ == "__main__":
    main()

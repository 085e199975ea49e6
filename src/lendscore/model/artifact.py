"""The model file: one versioned, human-readable, checksummed JSON document.

It holds everything scoring needs (input schema, bins with their Missing and Special bins, WoE,
coefficients, rules, scaling, grades, cut-off) plus what a validator needs to trace the model
(parameters, selection, coefficient table, training-data fingerprint, metrics, library version).
Loading parses JSON only and executes nothing; it refuses an unknown format or version, a
truncated file and any edit (the SHA-256 of the canonical payload must match).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pydantic

from lendscore._version import __version__
from lendscore.data.derivation import InputSpec, input_spec_for
from lendscore.errors import ArtifactError
from lendscore.model._data import fingerprint
from lendscore.model.metadata import ModelMetadata

__all__ = ["FORMAT", "FORMAT_VERSION", "save_model", "load_model", "model_to_dict", "model_from_dict", "fingerprint"]

FORMAT = "lendscore.scorecard"
FORMAT_VERSION = 2
"""2: the ``inputs`` section (applicant fields, value rules, the declared derivation) and typed
``metadata``. Version-1 files still load: their inputs are rebuilt from ``input_schema`` and, for
a model trained through the Lending Club profile, that profile's derivation."""
READABLE_VERSIONS = (1, 2)


def _clean(obj):
    """JSON-safe copy: numpy scalars to Python, non-finite floats to strings."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        f = float(obj)
        if math.isnan(f):
            return "NaN"
        if math.isinf(f):
            return "inf" if f > 0 else "-inf"
        return f
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.ndarray):
        return _clean(obj.tolist())
    return obj


def _num(v):
    if isinstance(v, str) and v in ("NaN", "inf", "-inf"):
        return float(v.replace("NaN", "nan"))
    return v


def _canonical(payload: dict) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def model_to_dict(model, **metadata) -> dict:
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(model, "coef_")
    params = model.get_params()
    table = model.coef_table_.reset_index()
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "lendscore_version": __version__,
        "created_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "params": params,
        "classes": model.classes_.tolist(),
        "input_schema": [{"name": c, "kind": model.kinds_[c]} for c in model.feature_names_in_],
        "selected_features": model.selected_features_,
        "binnings": {c: model.binnings_[c].to_dict() for c in model.binnings_},
        "rules": [r.to_dict() for r in model.rules_],
        "intercept": model.intercept_,
        "coef": model.coef_.tolist(),
        "coef_table": table.to_dict(orient="list"),
        "selection": model.selection_.to_dict(orient="list"),
        "scaling": model.scaling_.to_dict(),
        "grades": model.grades_,
        "threshold": model.threshold_,
        "threshold_rule": model.threshold_rule_,
        "training_data": getattr(model, "data_fingerprint_", None),
        "converged": bool(getattr(model, "converged_", True)),
        "scoring_table": model.table_.to_dict(),
        "inputs": model.inputs_.model_dump(mode="json", exclude_none=True),
        "metadata": ModelMetadata.model_validate(
            {**(getattr(model, "metadata_", None) or {}), **metadata}
        ).to_json_dict(),
    }
    return _clean(payload)


def save_model(model, path, **metadata) -> Path:
    """Write the model atomically (a temporary file renamed into place)."""
    payload = model_to_dict(model, **metadata)
    doc = {"checksum": {"algorithm": "sha256", "value": hashlib.sha256(_canonical(payload)).hexdigest()}, **payload}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".model-", suffix=".json")
    os.chmod(tmp, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, indent=1, ensure_ascii=False)
        fh.write("\n")
    os.replace(tmp, path)
    return path


def load_model(path):
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ArtifactError(f"{path}: model file not found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{path}: cannot read the model file ({exc})") from exc
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ArtifactError(f"{path}: not a complete JSON document (truncated or corrupted): {exc}") from exc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ArtifactError(
            f"{path}: not a lendscore model file (format must be {FORMAT!r}; "
            f"got {doc.get('format') if isinstance(doc, dict) else type(doc).__name__!r})"
        )
    if doc.get("format_version") not in READABLE_VERSIONS:
        raise ArtifactError(
            f"{path}: format_version must be one of {list(READABLE_VERSIONS)}; got {doc.get('format_version')!r}"
        )
    checksum = doc.pop("checksum", None)
    if not isinstance(checksum, dict) or "value" not in checksum:
        raise ArtifactError(f"{path}: the checksum is missing")
    actual = hashlib.sha256(_canonical(doc)).hexdigest()
    if actual != checksum["value"]:
        raise ArtifactError(
            f"{path}: checksum mismatch (the file was edited or damaged): "
            f"stored {checksum['value'][:12]}..., computed {actual[:12]}..."
        )
    try:
        return model_from_dict(doc)
    except (KeyError, TypeError, ValueError, pydantic.ValidationError) as exc:
        raise ArtifactError(f"{path}: inconsistent model content: {exc}") from exc


def model_from_dict(doc: dict):
    from lendscore.features.binning import FeatureBinning
    from lendscore.features.rules import Rule
    from lendscore.model import _points
    from lendscore.model.scaling import Scaling
    from lendscore.model.scorecard import Scorecard

    params = dict(doc["params"])
    params.setdefault("form", "classic")  # files written before the penalised form existed
    params.setdefault("penalty", "aic")
    if isinstance(params.get("grade_pd_bounds"), list):
        params["grade_pd_bounds"] = tuple(params["grade_pd_bounds"])
    model = Scorecard(**params)
    model.classes_ = np.asarray(doc["classes"])
    model.feature_names_in_ = np.asarray([f["name"] for f in doc["input_schema"]], dtype=object)
    model.n_features_in_ = len(model.feature_names_in_)
    model.kinds_ = {f["name"]: f["kind"] for f in doc["input_schema"]}
    model.binnings_ = {}
    for c, b in doc["binnings"].items():
        b = dict(b)
        b["splits"] = [_num(v) for v in b["splits"]]
        b["woe"] = [_num(v) for v in b["woe"]]
        model.binnings_[c] = FeatureBinning.from_dict(b)
    model.selected_features_ = list(doc["selected_features"])
    model.rules_ = [Rule.from_dict(r) for r in doc["rules"]]
    model.characteristics_ = model.selected_features_ + [r.name for r in model.rules_]
    model.n_features_used_ = len(model.selected_features_)
    model.intercept_ = float(doc["intercept"])
    model.coef_ = np.asarray(doc["coef"], dtype=float)
    table = pd.DataFrame({k: [_num(v) for v in vals] for k, vals in doc["coef_table"].items()})
    model.coef_table_ = table.set_index("term")
    model.selection_ = pd.DataFrame(doc["selection"])
    sc = doc["scaling"]
    model.scaling_ = Scaling(sc["pdo"], sc["base_points"], sc["base_odds"])
    model.grades_ = [{k: _num(v) for k, v in g.items()} for g in doc["grades"]]
    model.threshold_ = float(doc["threshold"])
    model.threshold_rule_ = doc["threshold_rule"]
    model.data_fingerprint_ = doc.get("training_data")
    meta = ModelMetadata.model_validate(
        {**doc.get("metadata", {}), "created_at": doc["created_at"], "lendscore_version": doc["lendscore_version"]}
    )
    model.metadata_ = meta.to_json_dict()
    model.converged_ = bool(doc.get("converged", True))  # version 1 saved converged fits only
    if doc["format_version"] >= 2:
        model.inputs_ = InputSpec.model_validate(doc["inputs"])
    else:
        model.inputs_ = _inputs_of_version_1(model, meta.profile)
    _points.build(model)
    stored = doc.get("scoring_table")  # version 2: what scoring reads, checked against the bins
    if stored is not None and _clean(model.table_.to_dict()) != stored:
        raise ValueError("the scoring table does not follow from the bins and coefficients")
    return model


def _inputs_of_version_1(model, profile: str | None) -> InputSpec:
    """A version-1 file names its dataset profile instead of declaring its derivation: the
    profile's declaration (as of version 2) stands in for it, without training ranges."""
    from lendscore.data.profiles import PROFILES

    prof = PROFILES.get(profile) if profile else None
    if prof is None:
        return input_spec_for(model.kinds_)
    return prof.input_spec(model.kinds_)

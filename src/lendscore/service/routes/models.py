"""GET /v1/models (admin: champion, challenger and policy), GET /v1/scale (officer), GET /v1/whoami."""

from __future__ import annotations

import math
from typing import Any

from fastapi import APIRouter

from lendscore.service.deps import Admin, AnyRole, Officer, State
from lendscore.service.openapi import errors
from lendscore.service.schemas import ModelsOut, ScaleOut, WhoAmIOut

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["models"])


@router.get("/models", response_model=ModelsOut, responses=errors(401, 403))
def get_models(state: State, _: Admin) -> dict:
    """The champion (version, input schema, characteristics, grades), the challenger shadow-scored
    beside it (None without a registry or candidate) and the policy."""
    eng = state.engine
    m = eng.model
    ch = eng.challenger
    registry = state.settings.registry_dir
    return {
        "source": f"registry {registry}" if registry is not None else f"model file {state.settings.model_path}",
        "challenger": None
        if ch is None
        else {
            "version": ch.version,
            "metadata": dict(getattr(ch.model, "metadata_", {}) or {}),
            "characteristics": list(ch.model.characteristics_),
            "grades": ch.model.grades_,
            "role": "shadow-scored beside every decision; never decides",
        },
        "model": {
            "version": eng.model_version,
            "metadata": dict(getattr(m, "metadata_", {}) or {}),
            "training_data": getattr(m, "data_fingerprint_", None),
            "input_schema": _input_schema(state.schemas),
            "derivation": m.inputs_.derivation.model_dump(mode="json"),
            "characteristics": list(m.characteristics_),
            "max_points": eng.max_points,
            "grades": m.grades_,
            "scaling": m.scaling_.to_dict(),
            "score_min": eng.score_min,
            "score_max": eng.score_max,
        },
        "policy": eng.policy.model_dump(mode="json"),
        "catalogue_version": eng.catalogue.version,
    }


def _input_schema(schemas) -> list[dict]:
    """Every applicant field: kind, value rule, and whether a person is asked for it or it is derived."""
    spec, requested = schemas.spec, set(schemas.requested)
    out = []
    for n in schemas.field_names:
        f = None if spec is None else spec.field(n)
        out.append(
            {
                "name": n,
                "kind": schemas.kinds.get(n, "numeric"),
                "requested": n in requested,
                "derived": spec is not None and n in spec.derivation.outputs,
                "min": None if f is None else f.min,
                "max": None if f is None else f.max,
            }
        )
    return out


@router.get("/scale", response_model=ScaleOut, responses=errors(401, 403))
def get_scale(state: State, _: Officer) -> dict:
    """The score range and the policy bands, to place a score on the scale."""
    eng = state.engine
    return {
        "basis": eng.policy.basis,
        "score_min": eng.score_min,
        "score_max": eng.score_max,
        "bands": [_edges(b.model_dump(include={"outcome", "min", "max"}), "min", "max") for b in eng.policy.bands],
        "grades": [_edges(dict(g), "score_min", "score_max") for g in eng.model.grades_],
    }


def _edges(row: dict[str, Any], *keys: str) -> dict[str, Any]:
    """``row`` with its infinite edges as None (null: unbounded on that side)."""
    for k in keys:
        v = row.get(k)
        if v is not None and not math.isfinite(float(v)):
            row[k] = None
    return row


@router.get("/whoami", response_model=WhoAmIOut, responses=errors(401))
def whoami(principal: AnyRole) -> dict:
    """The name and role of the caller's key (the web page checks the key with it)."""
    return {"name": principal.name, "role": principal.role}

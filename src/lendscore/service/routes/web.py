"""The loan officers' page: server-rendered with Jinja2; its JavaScript calls the API with the
officer's key, kept in the tab's sessionStorage (the page itself holds no data, so it needs no key).

The form asks for the fields a person is asked for (the model file's ``InputSpec.requested``: raw
fields such as dates, never the derived NTH or credit age), the monthly finances and the loan.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from lendscore.data.derivation import CreditAgeMonths, Instalment, NetTakeHome, NthShare
from lendscore.service.deps import State

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


def _read_by_score(spec, characteristics: list[str]) -> set[str]:
    """The characteristics and every field the derivation reads to compute one of them."""
    needed = set(characteristics)
    for op in reversed(spec.derivation.operations):
        if op.output in needed:
            needed.update(op.reads())
            if isinstance(op, CreditAgeMonths):
                needed.add(op.application_date)
            if isinstance(op, Instalment) and op.given:
                needed.add(op.given)
    return needed


@router.get("/")
def root() -> RedirectResponse:
    return RedirectResponse("/ui", status_code=307)


@router.get("/ui", response_class=HTMLResponse)
def officer_page(request: Request, state: State) -> HTMLResponse:
    schemas = state.schemas
    spec = schemas.spec
    characteristics = list(state.engine.model.characteristics_)
    used = _read_by_score(spec, characteristics) if spec is not None else set(characteristics)
    order = {n: i for i, n in enumerate(schemas.requested)}
    names = sorted(schemas.requested, key=lambda n: (n not in used, order[n]))
    fields = []
    for n in names:
        f = None if spec is None else spec.field(n)
        fields.append(
            {
                "name": n,
                "kind": schemas.kinds.get(n, "numeric"),
                "min": None if f is None else f.min,
                "max": None if f is None else f.max,
            }
        )
    # the model inputs the affordability NTH feeds (the page says the score used the NTH it shows)
    nth_scored = (
        []
        if spec is None
        else [
            op.output
            for op in spec.derivation.operations
            if isinstance(op, (NetTakeHome, NthShare)) and op.output in characteristics
        ]
    )
    templates = request.app.state.templates
    return templates.TemplateResponse(
        request, "officer.html", {"fields": fields, "used": used, "nth_scored": nth_scored}
    )

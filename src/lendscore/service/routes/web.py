"""The loan officers' page: server-rendered with Jinja2; its JavaScript calls the API with the
officer's key, kept in the tab's sessionStorage (the page itself holds no data, so it needs no key).
"""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from lendscore.service.deps import State

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/")
def root() -> RedirectResponse:
    return RedirectResponse("/ui", status_code=307)


@router.get("/ui", response_class=HTMLResponse)
def officer_page(request: Request, state: State) -> HTMLResponse:
    fields = [{"name": n, "kind": state.schemas.kinds.get(n, "numeric")} for n in state.schemas.field_names]
    used = set(state.engine.model.characteristics_)
    fields.sort(key=lambda f: (f["name"] not in used, state.schemas.field_names.index(f["name"])))
    templates = request.app.state.templates
    return templates.TemplateResponse(request, "officer.html", {"fields": fields, "used": used})

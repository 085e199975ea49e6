"""GET /ui/monitoring (admin key): drift and realised performance, computed off the decision path."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from lendscore.service.deps import Admin, State
from lendscore.service.openapi import errors

__all__ = ["router"]

router = APIRouter(tags=["monitoring"])


@router.get(
    "/ui/monitoring",
    response_class=HTMLResponse,
    summary="Monitoring page (admin)",
    responses=errors(401, 403, 503, why={503: "The audit store is unavailable"}),
)
async def monitoring_page(state: State, _: Admin) -> HTMLResponse:
    """Score PSI, CSI of every characteristic (the stored applications derived with the champion's
    file), input missing-rate shifts and input warnings per period, realised performance by vintage,
    alerts and shadow scoring; cached for ``monitoring_cache_seconds``."""
    return HTMLResponse(await state.monitoring.html())

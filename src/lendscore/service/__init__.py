"""The lendscore HTTP service (FastAPI): decisions, audit store, API keys, officers' web page.

Needs the ``service`` extra (fastapi, uvicorn, alembic, httpx, psycopg). Nothing is built at
import: ``create_app(settings)`` builds the app; ``lendscore serve`` runs it with uvicorn.
"""

from __future__ import annotations

from lendscore.service.app import create_app
from lendscore.service.audit import AuditStore, DecisionRecord, InMemoryAuditStore, OutcomeRecord, open_store
from lendscore.service.security import hash_key, new_key
from lendscore.service.settings import ApiKey, Settings, load_settings

__all__ = [
    "ApiKey",
    "AuditStore",
    "DecisionRecord",
    "InMemoryAuditStore",
    "OutcomeRecord",
    "Settings",
    "create_app",
    "hash_key",
    "load_settings",
    "new_key",
    "open_store",
]

"""API keys: hashing, constant-time lookup and roles.

A client sends its key as ``X-API-Key: <key>`` or ``Authorization: Bearer <key>``. The service
keeps only ``sha256:<hex>`` hashes; the presented key is hashed and compared with *every* stored
hash with :func:`hmac.compare_digest`, so the time taken does not depend on which key (if any)
matched or on how many leading characters agree. Keys are high-entropy random strings, so an
unsalted SHA-256 is enough (no password stretching is needed).

Roles are ordered: scorer < officer < admin. A scorer may POST decisions; an officer may also
read decisions and use the web page; an admin may do everything (outcomes, models, metrics).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from lendscore.service.settings import ApiKey, Role

__all__ = ["KeyRing", "Principal", "ROLE_RANK", "api_key_of", "hash_key", "new_key", "MIN_KEY_LENGTH"]

ROLE_RANK: dict[str, int] = {"scorer": 0, "officer": 1, "admin": 2}
MIN_KEY_LENGTH = 24


def hash_key(key: str) -> str:
    """The stored form of a key: ``sha256:`` + the hex SHA-256 of its UTF-8 bytes."""
    return "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()


def api_key_of(headers: Mapping[str, str]) -> str | None:
    """The key a request presents: ``X-API-Key``, else the token of ``Authorization: Bearer <token>``
    (the scheme in any case); None when neither gives a non-empty key.

    ``headers`` maps lower-case header names to values: Starlette's ``Headers`` (whose lookups ignore
    case and give the first of repeated headers) or a plain dict (the short path's). The FastAPI
    dependency and the short path both read the key here.
    """
    key = headers.get("x-api-key")
    if key:
        return key
    auth = headers.get("authorization")
    if auth and auth[:7].lower() == "bearer ":
        return auth[7:].strip() or None
    return None


def new_key() -> str:
    """A fresh random key (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Principal:
    """Who called: the key's name (safe to log) and its role."""

    name: str
    role: Role

    def allows(self, role: Role) -> bool:
        return ROLE_RANK[self.role] >= ROLE_RANK[role]


class KeyRing:
    """The configured keys; :meth:`identify` finds the caller in constant time."""

    def __init__(self, keys: Iterable[ApiKey]):
        self._entries = [(bytes.fromhex(k.hash.removeprefix("sha256:")), Principal(k.name, k.role)) for k in keys]

    def identify(self, presented: str | None) -> Principal | None:
        """The principal whose key is ``presented``, or None. Every stored hash is compared."""
        if not presented:
            return None
        digest = hashlib.sha256(presented.encode("utf-8", "surrogatepass")).digest()
        found = None
        for stored, principal in self._entries:
            if hmac.compare_digest(stored, digest):
                found = principal
        return found

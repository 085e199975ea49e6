"""Service settings: a strict pydantic model read from a TOML file and ``LENDSCORE_*`` variables.

Precedence: keyword overrides > environment > TOML file > defaults. Unknown keys in the file are
refused. API keys are stored only as ``sha256:<64 hex>`` hashes with a role; a hash of a known
placeholder key ("changeme", "secret", ...) is refused at start-up, as is a service without keys.

Environment variables (all optional)::

    LENDSCORE_MODEL_PATH, LENDSCORE_REGISTRY_DIR, LENDSCORE_POLICY_PATH, LENDSCORE_CATALOGUE_PATH, LENDSCORE_AUDIT_URL,
    LENDSCORE_SQLITE_SYNCHRONOUS, LENDSCORE_MAX_BATCH, LENDSCORE_MAX_BODY_BYTES,
    LENDSCORE_MAX_BATCH_BODY_BYTES, LENDSCORE_LOG_LEVEL, LENDSCORE_MONITORING_CACHE_SECONDS,
    LENDSCORE_API_KEYS  "name:role:sha256:<hex>,name2:role:sha256:<hex>"  (or a JSON list of objects)
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from lendscore.errors import ConfigError

__all__ = ["ApiKey", "Role", "Settings", "load_settings", "PLACEHOLDER_KEYS"]

Role = Literal["scorer", "officer", "admin"]

PLACEHOLDER_KEYS = (
    "",
    "changeme",
    "change-me",
    "change_me",
    "changethis",
    "secret",
    "password",
    "admin",
    "test",
    "example",
    "placeholder",
    "xxx",
    "key",
    "apikey",
    "api-key",
    "lendscore",
    "default",
    "dev",
)
"""Raw keys whose hashes are refused: the usual placeholders left in example configuration."""
_PLACEHOLDER_HASHES = {"sha256:" + hashlib.sha256(k.encode()).hexdigest() for k in PLACEHOLDER_KEYS}
_HASH = re.compile(r"^sha256:[0-9a-f]{64}$")
_ENV_FIELDS = (
    "model_path",
    "registry_dir",
    "monitoring_cache_seconds",
    "policy_path",
    "catalogue_path",
    "audit_url",
    "sqlite_synchronous",
    "max_batch",
    "max_body_bytes",
    "max_batch_body_bytes",
    "log_level",
    "api_keys",
)


class ApiKey(BaseModel):
    """One API key: a name (logged, never the key), its role and the SHA-256 hash of the key."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    role: Role
    hash: str = Field(description="'sha256:' followed by the 64 hex digits of SHA-256(key)")

    @field_validator("hash")
    @classmethod
    def _hash_form(cls, v: str) -> str:
        v = v.strip().lower()
        if not _HASH.match(v):
            raise ValueError("must be 'sha256:' followed by 64 hex digits (use `lendscore keys hash`)")
        if v in _PLACEHOLDER_HASHES or len(set(v[7:])) == 1:
            raise ValueError("is the hash of a placeholder key; generate a real key with `lendscore keys new`")
        return v


class Settings(BaseModel):
    """Everything the service needs; built once and passed to :func:`create_app`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model_path: Path | None = Field(
        default=None,
        description="model JSON saved by Scorecard.save / `lendscore train`; not used when registry_dir is set",
    )
    registry_dir: Path | None = Field(
        default=None,
        description="model registry directory: the service serves its champion "
        "and shadow-scores every decision with its challenger",
    )
    policy_path: Path | None = Field(default=None, description="policy TOML; None = bundled default")
    catalogue_path: Path | None = Field(default=None, description="reason catalogue TOML; None = bundled")
    audit_url: str = Field(
        default="sqlite:///lendscore-audit.db",
        description="SQLAlchemy URL of the audit store: sqlite:///path, "
        "postgresql+psycopg://user@host:port/db, or memory://",
    )
    sqlite_synchronous: Literal["FULL", "NORMAL"] = Field(
        default="FULL", description="SQLite WAL synchronous level (FULL: durable against power loss)"
    )
    api_keys: tuple[ApiKey, ...] = Field(min_length=1)
    max_batch: int = Field(default=1000, ge=1, le=100_000)
    max_body_bytes: int = Field(default=64 * 1024, ge=1024, description="largest body of a single request")
    max_batch_body_bytes: int = Field(default=8 * 1024 * 1024, ge=1024, description="largest batch body")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    recent_limit: int = Field(default=50, ge=1, le=1000, description="most decisions the recent list shows")
    monitoring_cache_seconds: float = Field(
        default=5.0, ge=0, le=3600, description="how long a computed monitoring page is reused"
    )
    monitoring_period: Literal["D", "W", "M"] = Field(default="M", description="drift period of the monitoring page")

    @field_validator("audit_url")
    @classmethod
    def _url_form(cls, v: str) -> str:
        if not (v == "memory://" or v.startswith(("sqlite:///", "postgresql"))):
            raise ValueError("must start with sqlite:///, postgresql (SQLAlchemy URL) or be memory://")
        return v

    @model_validator(mode="after")
    def _unique_keys(self) -> Settings:
        if self.model_path is None and self.registry_dir is None:
            raise ValueError("model_path or registry_dir is required (the model to serve)")
        names = [k.name for k in self.api_keys]
        hashes = [k.hash for k in self.api_keys]
        if len(set(names)) != len(names):
            raise ValueError(f"api_keys names must be unique; got {names}")
        if len(set(hashes)) != len(hashes):
            raise ValueError("api_keys must not share a key (two entries have the same hash)")
        return self


def _env_value(name: str, raw: str) -> Any:
    if name != "api_keys":
        return raw
    raw = raw.strip()
    if raw.startswith("["):
        try:
            return json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"LENDSCORE_API_KEYS is not valid JSON: {exc}") from exc
    keys = []
    for item in filter(None, (p.strip() for p in raw.split(","))):
        parts = item.split(":", 2)
        if len(parts) != 3:
            raise ConfigError(
                f"LENDSCORE_API_KEYS entries must be 'name:role:sha256:<hex>'; got an entry with {len(parts)} part(s)"
            )
        keys.append({"name": parts[0], "role": parts[1], "hash": parts[2]})
    return keys


def load_settings(
    path: str | Path | None = None, *, environ: Mapping[str, str] | None = None, **overrides: Any
) -> Settings:
    """Read the TOML file (if any), then ``LENDSCORE_*`` variables, then ``overrides``.

    Raises :class:`~lendscore.errors.ConfigError` naming the key, the rule and the source.
    """
    data: dict[str, Any] = {}
    source = "settings"
    if path is not None:
        source = str(path)
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"settings file {path}: cannot be read: {exc}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"settings file {path}: not valid TOML: {exc}") from exc
    env = os.environ if environ is None else environ
    for name in _ENV_FIELDS:
        var = "LENDSCORE_" + name.upper()
        if var in env and env[var] != "":
            data[name] = _env_value(name, env[var])
    data.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return Settings.model_validate(data)
    except pydantic.ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            loc = ".".join(str(p) for p in err["loc"]) or "(settings)"
            problems.append(f"{loc}: {err['msg'].removeprefix('Value error, ')}")
        raise ConfigError(f"{source}: " + "; ".join(problems)) from exc

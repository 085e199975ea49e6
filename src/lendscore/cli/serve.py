"""``lendscore serve`` (the HTTP service) and ``lendscore keys new|hash`` (API-key helpers)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from lendscore.cli._app import app

keys_app = typer.Typer(help="API keys: generate one, or hash one for the settings file.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@app.command("serve")
def serve_command(
    settings: Annotated[
        Path | None, typer.Option("--settings", help="settings TOML (LENDSCORE_* env vars override)")
    ] = None,
    model: Annotated[Path | None, typer.Option("--model", help="model file (overrides settings)")] = None,
    policy: Annotated[Path | None, typer.Option("--policy", help="policy TOML (overrides settings)")] = None,
    audit_url: Annotated[str | None, typer.Option("--audit-url", help="audit store URL (overrides settings)")] = None,
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8000,
) -> None:
    """Run the decision service (FastAPI on uvicorn, one process)."""
    import uvicorn

    from lendscore.service import create_app, load_settings
    from lendscore.service.jsonlog import configure_logging

    cfg = load_settings(settings, model_path=model, policy_path=policy, audit_url=audit_url)
    configure_logging(cfg.log_level)
    application = create_app(cfg, tune_gc=True)
    loop = "uvloop" if _has("uvloop") else "asyncio"
    http = "httptools" if _has("httptools") else "h11"
    uvicorn.run(
        application,
        host=host,
        port=port,
        loop=loop,
        http=http,
        access_log=False,
        log_config=None,
        server_header=False,
        timeout_graceful_shutdown=10,
    )


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


@keys_app.command("new")
def keys_new(
    name: Annotated[str, typer.Option("--name", help="key name (logged instead of the key)")],
    role: Annotated[str, typer.Option("--role", help="scorer, officer or admin")],
) -> None:
    """Print a fresh random key (give it to the client) and its settings entry (keep that)."""
    from lendscore.errors import ConfigError
    from lendscore.service.security import ROLE_RANK, hash_key, new_key

    if role not in ROLE_RANK:
        raise ConfigError(f"--role must be one of {sorted(ROLE_RANK)}; got {role!r}")
    key = new_key()
    typer.echo(f"key (shown once): {key}")
    typer.echo(f'settings entry:   {{ name = "{name}", role = "{role}", hash = "{hash_key(key)}" }}')


@keys_app.command("hash")
def keys_hash(
    key: Annotated[str | None, typer.Argument(help="the key; omit to read it from standard input")] = None,
) -> None:
    """Print ``sha256:<hex>`` of a key, the form the settings file stores."""
    from lendscore.errors import ConfigError
    from lendscore.service.security import MIN_KEY_LENGTH, hash_key
    from lendscore.service.settings import PLACEHOLDER_KEYS

    if key is None:
        key = sys.stdin.readline().rstrip("\r\n")
    if key.lower() in PLACEHOLDER_KEYS or len(key) < MIN_KEY_LENGTH:
        raise ConfigError(
            f"the key must be at least {MIN_KEY_LENGTH} characters and not a placeholder; "
            f"got {len(key)} characters (use `lendscore keys new`)"
        )
    typer.echo(hash_key(key))

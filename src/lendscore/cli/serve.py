"""``lendscore serve`` (the HTTP service) and ``lendscore keys new|hash`` (API-key helpers)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from lendscore.cli._app import app

keys_app = typer.Typer(help="API keys: generate one, or hash one for the settings file.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


ROLES_HELP = "scorer|officer|admin"


@app.command("serve")
def serve_command(
    settings: Annotated[
        Path | None, typer.Option("--settings", help="settings TOML (LENDSCORE_* env vars override)")
    ] = None,
    model: Annotated[Path | None, typer.Option("--model", help="model file (overrides settings)")] = None,
    policy: Annotated[Path | None, typer.Option("--policy", help="policy TOML (overrides settings)")] = None,
    audit_url: Annotated[str | None, typer.Option("--audit-url", help="audit store URL (overrides settings)")] = None,
    host: Annotated[str, typer.Option("--host", help="address to listen on (127.0.0.1: this machine only)")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option("--port", help="TCP port to listen on")] = 8000,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo",
            help="try the service without settings: the bundled demo model (trained in a few seconds), an "
            "in-memory audit store and one fresh admin key, printed here with the officer page's address "
            "(--model and --audit-url replace the demo's)",
        ),
    ] = False,
) -> None:
    """Run the decision service (FastAPI on uvicorn, one process)."""
    if demo:
        _serve_demo(settings, model, policy, audit_url, host, port)
        return
    _run(_load_settings(settings, model, policy, audit_url), host, port)


def _load_settings(settings: Path | None, model: Path | None, policy: Path | None, audit_url: str | None):
    """The service's settings; settings without an API key are answered with how to make one."""
    from lendscore.errors import ConfigError
    from lendscore.service import load_settings

    try:
        return load_settings(settings, model_path=model, policy_path=policy, audit_url=audit_url)
    except ConfigError as exc:
        problems = _validation_problems(exc)
        if not any(loc == "api_keys" and kind in ("missing", "too_short") for loc, kind in problems):
            raise
        message = _no_key_message(settings)
        if len(problems) > 1:  # name the other problems too: one run shows them all
            message += f"\n{exc}"
        raise ConfigError(message) from exc


def _validation_problems(exc: Exception) -> list[tuple[str, str]]:
    """(field, pydantic error type) of each problem of the settings validation behind ``exc``."""
    import pydantic

    cause = exc.__cause__
    if not isinstance(cause, pydantic.ValidationError):
        return []
    return [(".".join(str(p) for p in err["loc"]), err["type"]) for err in cause.errors(include_url=False)]


def _no_key_message(settings: Path | None) -> str:
    make = f"`lendscore keys new --name NAME --role {ROLES_HELP}`"
    if settings is None:
        return (
            "lendscore serve needs settings with at least one API key (no --settings given, no LENDSCORE_API_KEYS).\n"
            f"Make a key with {make}, put the settings entry it prints in a TOML file as api_keys = [ENTRY] "
            'beside model_path = "model.json", and run `lendscore serve --settings FILE`; '
            "or try the service with `lendscore serve --demo`."
        )
    return (
        f"lendscore serve needs at least one API key; {settings} has none (nor LENDSCORE_API_KEYS).\n"
        f"Make a key with {make} and add the settings entry it prints to {settings} as api_keys = [ENTRY]."
    )


def _serve_demo(
    settings: Path | None, model: Path | None, policy: Path | None, audit_url: str | None, host: str, port: int
) -> None:
    """The service on the demo model (or --model), an in-memory audit store (or --audit-url) and
    one fresh admin key, from settings in a temporary directory removed when the service stops."""
    import signal

    from lendscore.errors import ConfigError

    if settings is not None:
        raise ConfigError("--demo makes its own settings: give --settings or --demo, not both")
    # uvicorn stops gracefully on SIGTERM, then raises the signal again for the handler it found:
    # let that handler exit (status 0) through the clean-up of the temporary directory
    previous = signal.signal(signal.SIGTERM, _exit_quietly)
    try:
        _serve_demo_in(model, policy, audit_url, host, port)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _exit_quietly(signum: int, frame: object) -> None:
    raise SystemExit(0)


def _serve_demo_in(model: Path | None, policy: Path | None, audit_url: str | None, host: str, port: int) -> None:
    import tempfile

    from lendscore.service import load_settings
    from lendscore.service.security import new_key
    from lendscore.service.testing import train_demo_model, write_settings

    with tempfile.TemporaryDirectory(prefix="lendscore-demo-") as tmp:
        if model is None:
            typer.echo("training the demo model on the bundled Lending Club data (a few seconds) ...")
            model = train_demo_model(Path(tmp) / "demo-model.json")
            what = "the demo model (Lending Club loans 2007-2010)"
        else:
            what = str(model)
        key = new_key()
        extra = {} if policy is None else {"policy_path": str(policy)}
        path = write_settings(
            Path(tmp) / "settings.toml", model=model, audit_url=audit_url or "memory://", keys={"admin": key}, **extra
        )
        cfg = load_settings(path, environ={})  # the demo is these settings alone: LENDSCORE_* do not apply
        store = "in memory, gone when the service stops" if cfg.audit_url == "memory://" else cfg.audit_url
        url = _url(host, port)

        def banner() -> None:
            typer.echo(f"lendscore demo service: {what}; audit store {store}. Ctrl-C stops it.")
            typer.echo(f"admin key (shown once, valid until the service stops): {key}")
            typer.echo(f"officer page: {url}/ui  (sign in with the key)")
            typer.echo(f"try the API:  curl -H 'X-API-Key: {key}' {url}/v1/models")

        _run(cfg, host, port, before=banner)


def _url(host: str, port: int) -> str:
    """The address a browser on this machine opens for a service listening on ``host``."""
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _run(cfg, host: str, port: int, before=None) -> None:
    """Build the app from ``cfg`` and serve it with uvicorn until stopped; ``before()`` runs once
    the app is built (so nothing is announced for a service that cannot start)."""
    import uvicorn

    from lendscore.service import create_app
    from lendscore.service.jsonlog import configure_logging

    configure_logging(cfg.log_level)
    application = create_app(cfg, tune_gc=True)
    if before is not None:
        before()
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
    """Print the hash of a key (sha256:<hex>), the form the settings file stores."""
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

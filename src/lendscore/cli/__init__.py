"""Command-line interface: ``lendscore`` and ``python -m lendscore``.

Each module in this package registers its commands on :data:`lendscore.cli._app.app`.
Errors that lendscore raises on purpose are printed as one clear message (no traceback), exit code 2.
"""

from __future__ import annotations

import importlib
import os
import sys

_COMMAND_MODULES = ("train", "score", "decide", "serve", "monitor")


def _register() -> None:
    from lendscore.cli._app import app  # noqa: F401 - the commands register on it

    for name in _COMMAND_MODULES:
        try:
            importlib.import_module(f"lendscore.cli.{name}")
        except ModuleNotFoundError as exc:  # a command module not written yet
            if exc.name != f"lendscore.cli.{name}":
                raise


def main(argv: list[str] | None = None) -> None:
    try:
        from rich.console import Console

        from lendscore.cli._app import app
    except ModuleNotFoundError as exc:
        sys.stderr.write(
            f"error: the lendscore command needs the 'cli' extra ({exc.name} is not installed): "
            "pip install 'lendscore[cli]'\n"
        )
        sys.exit(2)
    from lendscore.errors import LendscoreError

    _register()
    try:
        app(args=argv, standalone_mode=False)
    except LendscoreError as exc:
        Console(stderr=True).print(f"[bold red]error:[/] {exc}", markup=True, highlight=False)
        sys.exit(2)
    except SystemExit:
        raise
    except Exception as exc:  # click usage errors are handled by click itself
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        if isinstance(exc, click.exceptions.Abort):
            sys.exit(1)
        if os.environ.get("LENDSCORE_DEBUG"):
            raise
        Console(stderr=True).print(
            f"[bold red]internal error:[/] {type(exc).__name__}: {exc}\n"
            "(this is a bug in lendscore; set LENDSCORE_DEBUG=1 to see the traceback)",
            markup=True,
            highlight=False,
        )
        sys.exit(3)

"""Command-line interface: ``lendscore`` and ``python -m lendscore``.

Each module in this package registers its commands on :data:`lendscore.cli._app.app`.
What the user gets wrong is answered without a traceback:

- a usage mistake (an unknown command or option, a missing argument, a bad value): the reason on
  one line (with "Did you mean ..." for a near command name), then the command's usage; exit 2;
- an error lendscore raises on purpose (:class:`~lendscore.errors.LendscoreError`): one line
  ``error: ...``; exit 2;
- anything else is a bug: ``internal error: ...``; exit 3 (``LENDSCORE_DEBUG=1`` shows the traceback).
"""

from __future__ import annotations

import importlib
import os
import sys
from types import ModuleType
from typing import Any

_COMMAND_MODULES = ("train", "score", "decide", "serve", "monitor", "fairness")
PROG_NAME = "lendscore"


def _register() -> None:
    from lendscore.cli._app import app  # noqa: F401 - the commands register on it

    for name in _COMMAND_MODULES:
        try:
            importlib.import_module(f"lendscore.cli.{name}")
        except ModuleNotFoundError as exc:  # a command module not written yet
            if exc.name != f"lendscore.cli.{name}":
                raise


def _click_exceptions() -> ModuleType:
    """The exceptions of the click Typer runs on: its own copy (Typer >= 0.22) or click itself."""
    try:
        return importlib.import_module("typer._click.exceptions")
    except ModuleNotFoundError:
        return importlib.import_module("click.exceptions")


def _print_error(message: str, label: str = "error:") -> None:
    from rich.console import Console
    from rich.markup import escape

    # the message is text, never markup: a "[section]" in it prints as written; one line per line
    # of the message (the terminal wraps it, not rich)
    Console(stderr=True, soft_wrap=True).print(f"[bold red]{label}[/] {escape(message)}", markup=True, highlight=False)


def _usage_context(argv: list[str]) -> Any:
    """The click context of the deepest command ``argv`` names (for errors raised without one)."""
    import typer.main

    from lendscore.cli._app import app

    cmd: Any = typer.main.get_command(app)
    ctx = cmd.context_class(cmd, info_name=PROG_NAME)
    for token in argv:
        commands = getattr(cmd, "commands", None)
        if commands is None:  # a command, not a group: the rest are its parameters
            break
        if token.startswith("-"):
            continue
        if token not in commands:
            break
        cmd = commands[token]
        ctx = cmd.context_class(cmd, info_name=token, parent=ctx)
    return ctx


def _reason(exc: Any) -> str:
    """Click's message, with a near option name offered as a near command name is."""
    possibilities = sorted(getattr(exc, "possibilities", None) or ())
    message = getattr(exc, "message", None)
    if possibilities and isinstance(message, str) and type(exc).__name__ == "NoSuchOption":
        return f"{message}. Did you mean {', '.join(repr(p) for p in possibilities)}?"
    return str(exc.format_message())


def _show_usage_error(exc: Any, argv: list[str]) -> None:
    """``error: <reason>``, then ``Usage: ...`` and where the help is, on standard error."""
    _print_error(_reason(exc))
    ctx = getattr(exc, "ctx", None)
    if ctx is None:
        ctx = _usage_context(argv)
    out = sys.stderr
    out.write(ctx.get_usage().rstrip("\n") + "\n")
    out.write(f"Try '{ctx.command_path} --help' for help.\n")
    out.flush()


def main(argv: list[str] | None = None) -> None:
    try:
        import rich  # noqa: F401 - errors and help print through it

        from lendscore.cli._app import app
    except ModuleNotFoundError as exc:
        sys.stderr.write(
            f"error: the lendscore command needs the 'cli' extra ({exc.name} is not installed): "
            "pip install 'lendscore[cli]'\n"
        )
        sys.exit(2)
    import typer

    from lendscore.errors import LendscoreError

    _register()
    args = sys.argv[1:] if argv is None else list(argv)
    click_exc = _click_exceptions()
    try:
        code = app(args=args, prog_name=PROG_NAME, standalone_mode=False)
    except LendscoreError as exc:
        _print_error(str(exc))
        sys.exit(2)
    except SystemExit:
        raise
    except click_exc.NoArgsIsHelpError as exc:  # `lendscore`, `lendscore keys`: the help is the answer
        if exc.format_message():  # (Typer's rich help printed itself already)
            exc.show()
        sys.exit(exc.exit_code)
    except click_exc.UsageError as exc:
        _show_usage_error(exc, args)
        sys.exit(exc.exit_code)
    except click_exc.ClickException as exc:
        _print_error(exc.format_message())
        sys.exit(exc.exit_code)
    except (typer.Abort, getattr(click_exc, "Abort", typer.Abort)):  # click's own Abort before Typer 0.22
        sys.stderr.write("Aborted!\n")
        sys.exit(1)
    except BrokenPipeError:  # `lendscore export-sql ... | head`: the reader left
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - no flush error at exit
        sys.exit(1)
    except Exception as exc:
        if os.environ.get("LENDSCORE_DEBUG"):
            raise
        _print_error(
            f"{type(exc).__name__}: {exc}\n(this is a bug in lendscore; set LENDSCORE_DEBUG=1 to see the traceback)",
            label="internal error:",
        )
        sys.exit(3)
    # without standalone mode Typer returns the code of a `typer.Exit` (130 after Ctrl-C) instead of exiting
    if isinstance(code, int) and not isinstance(code, bool) and code != 0:
        sys.exit(code)

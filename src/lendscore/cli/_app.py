"""The Typer application every CLI module registers its commands on."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="lendscore",
    help="Interpretable credit scoring: train, validate, score, decide, serve and monitor.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

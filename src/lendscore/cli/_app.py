"""The Typer application every CLI module registers its commands on."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(
    name="lendscore",
    help="Interpretable credit scoring: train, validate, score, decide, serve and monitor.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


# options shared by the commands that read loans (`train`, `retrain`): declared once
TargetOpt = Annotated[str | None, typer.Option("--target", help="outcome column")]
BadOpt = Annotated[str, typer.Option("--bad", help="value of the outcome column that means default")]
ProfileOpt = Annotated[
    str | None, typer.Option("--profile", help="built-in dataset profile, e.g. lending_club_2007_2011")
]
SqlOpt = Annotated[str | None, typer.Option("--sql", help="query to run when DATA is a database")]

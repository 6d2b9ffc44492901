"""`tradebus`: one command line for operators and tenants, over the gateway's API."""

from __future__ import annotations

import typer

from .commands import ingest, keys, parking, schedules, tasks, tenants, topology
from .session import Session, session

app = typer.Typer(
    help="Operate tradebus through the gateway API (operator or tenant key).",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(tenants.app, name="tenants")
app.add_typer(keys.app, name="keys")
app.command("ingest")(ingest.ingest)
app.add_typer(tasks.app, name="tasks")
app.add_typer(parking.app, name="parking")
app.add_typer(topology.app, name="topology")
app.add_typer(schedules.app, name="schedules")


@app.callback()
def configure(
    ctx: typer.Context,
    url: str | None = typer.Option(None, "--url", help="gateway URL (env TRADEBUS_URL)"),
    key: str | None = typer.Option(None, "--key", help="API key (env TRADEBUS_API_KEY)"),
) -> None:
    """Settings come from the environment; --url and --key override them."""
    current: Session = session(ctx)
    update = {k: v for k, v in {"url": url, "api_key": key}.items() if v is not None}
    if update:
        current.settings = current.settings.model_copy(update=update)

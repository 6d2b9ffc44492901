"""`tradebus topology verify|declare`."""

from __future__ import annotations

from typing import Any

import typer

from tradebus_messaging.settings import BusSettings

from .. import broker
from ..errors import reported
from ..output import emit_json, show
from ..session import session

app = typer.Typer(help="Verify or declare the RabbitMQ topology.", no_args_is_help=True)


@app.command("verify")
@reported
def verify(
    ctx: typer.Context,
    local: bool = typer.Option(False, "--local", help="read the broker's management API directly"),
    as_json: bool = typer.Option(False, "--json", help="machine-readable output"),
) -> None:
    """Drift between the declared topology and the live broker; exit 1 on drift."""
    if local:
        report: dict[str, Any] = broker.verify(BusSettings())
    else:
        with session(ctx).client() as api:
            report = api.get("/v1/operator/topology")
    if as_json:
        emit_json(report)
    else:
        drift = report.get("drift") or []
        if drift:
            show(
                "drift",
                ("kind", "name", "problem", "detail", "expected", "actual"),
                (
                    (
                        d["kind"],
                        d["name"],
                        d.get("problem"),
                        d.get("detail"),
                        d.get("expected"),
                        d.get("actual"),
                    )
                    for d in drift
                ),
            )
        typer.echo(
            f"{len(report.get('declared') or [])} declared objects checked; {len(drift)} drift"
        )
    if not report.get("ok", False):
        raise typer.Exit(1)


@app.command("declare")
@reported
def declare() -> None:
    """Declare the shared exchanges and the delayed-retry network (RABBITMQ_URL)."""
    broker.declare_base(BusSettings())
    typer.echo("declared")

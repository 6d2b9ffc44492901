"""`tradebus schedules list`."""

from __future__ import annotations

import typer

from ..errors import reported
from ..output import emit_json, show
from ..session import session

app = typer.Typer(help="Scheduled jobs.", no_args_is_help=True)


@app.command("list")
@reported
def list_(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="machine-readable output"),
) -> None:
    """Every schedule with its cron, last and next run."""
    with session(ctx).client() as api:
        page = api.get("/v1/schedules")
    if as_json:
        emit_json(page)
        return
    show(
        "schedules",
        ("name", "cron", "timezone", "command", "enabled", "last run", "next run"),
        (
            (
                s["name"],
                s.get("cron"),
                s.get("timezone"),
                s.get("command"),
                s.get("enabled"),
                _last(s.get("last_run")),
                s.get("next_run"),
            )
            for s in page["items"]
        ),
    )


def _last(run: dict[str, object] | None) -> str:
    return f"{run['slot']} {run['status']}" if run else "-"

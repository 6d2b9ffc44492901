"""`tradebus parking list|show|replay|purge`: the parking lots (`<queue>.dlq`) through the
operator API, or with --local straight from the broker."""

from __future__ import annotations

from typing import Any

import typer

from tradebus_messaging.settings import BusSettings

from .. import broker
from ..errors import CliError, reported
from ..output import console, emit_json, show, table
from ..session import session

app = typer.Typer(help="Inspect, replay or purge parked messages.", no_args_is_help=True)

JSON = typer.Option(False, "--json", help="machine-readable output")
LOCAL = typer.Option(False, "--local", help="talk to RabbitMQ directly (RABBITMQ_URL)")
LOT = typer.Argument(..., help="parking lot or its work queue, e.g. omnirag-ingest.ingest")
IDS = typer.Option(None, "--id", help="only these message ids (repeatable)")
REASON = typer.Option(None, help="only messages parked for this reason")
ALL = typer.Option(False, "--all", help="every message in the lot")


def lot_name(name: str) -> str:
    return name if name.endswith(".dlq") else f"{name}.dlq"


def work_queue(name: str) -> str:
    return name.removesuffix(".dlq")


def selection(ids: list[str] | None, reason: str | None, every: bool) -> dict[str, Any]:
    chosen = [
        s
        for s in (
            {"message_ids": ids} if ids else None,
            {"reason": reason} if reason else None,
            {"all": True} if every else None,
        )
        if s
    ]
    if len(chosen) != 1:
        raise typer.BadParameter("choose exactly one of --id, --reason or --all")
    return chosen[0]


@app.command("list")
@reported
def list_(ctx: typer.Context, as_json: bool = JSON) -> None:
    """Every parking lot with its count, grouped by reason and exception."""
    with session(ctx).client() as api:
        lots = api.get("/v1/operator/parking")
    if as_json:
        emit_json(lots)
        return
    show(
        "parking lots",
        ("lot", "source", "count", "reason", "exception", "in group"),
        (
            row
            for lot in lots["lots"]
            for row in (
                [
                    (
                        lot["queue"],
                        lot.get("source"),
                        lot["count"],
                        g["reason"],
                        g["exception"],
                        g["count"],
                    )
                    for g in lot.get("groups") or []
                ]
                or [(lot["queue"], lot.get("source"), lot["count"], "-", "-", "-")]
            )
        ),
    )


@app.command("show")
@reported
def show_(
    ctx: typer.Context,
    lot: str = LOT,
    reason: str | None = REASON,
    limit: int = typer.Option(50, min=1, max=200),
    local: bool = LOCAL,
    as_json: bool = JSON,
) -> None:
    """The parked messages of one lot, with their failure reasons."""
    if local:
        parked = broker.with_lot(BusSettings(), lambda p: p.list(work_queue(lot), limit=limit))
        items = [broker.item(p) for p in parked if reason is None or p.reason == reason]
        page: dict[str, Any] = {"items": items, "next_cursor": None}
    else:
        with session(ctx).client() as api:
            page = api.get(
                f"/v1/operator/parking/{lot_name(lot)}/messages", {"reason": reason, "limit": limit}
            )
    if as_json:
        emit_json(page)
        return
    console().print(
        table(
            f"{len(page['items'])} parked message(s) in {lot_name(lot)}",
            (
                "message id",
                "type",
                "tenant",
                "task",
                "reason",
                "exception",
                "attempts",
                "parked at",
                "message",
            ),
            (
                (
                    m["message_id"],
                    m.get("type"),
                    m.get("tenant_id"),
                    m.get("task_id"),
                    m["reason"],
                    m.get("exception"),
                    m.get("attempts"),
                    m.get("parked_at"),
                    (m.get("message") or "")[:160],
                )
                for m in page["items"]
            ),
        )
    )


@app.command("replay")
@reported
def replay(
    ctx: typer.Context,
    lot: str = LOT,
    ids: list[str] | None = IDS,
    reason: str | None = REASON,
    every: bool = ALL,
    limit: int | None = typer.Option(None, min=1, help="at most this many (with --local)"),
    local: bool = LOCAL,
    as_json: bool = JSON,
) -> None:
    """Send parked messages back to their work queue with attempts reset."""
    chosen = selection(ids, reason, every)
    if limit is not None and not local:
        raise CliError("--limit needs --local")
    if local:
        count = broker.with_lot(
            BusSettings(),
            lambda p: p.replay(
                work_queue(lot), message_ids=set(ids) if ids else None, reason=reason, limit=limit
            ),
        )
        result: dict[str, Any] = {"replayed": count}
    else:
        with session(ctx).client() as api:
            result = api.post(f"/v1/operator/parking/{lot_name(lot)}/replay", chosen)
    if as_json:
        emit_json(result)
        return
    typer.echo(f"replayed {result['replayed']} message(s) from {lot_name(lot)}")
    if result.get("limit_reached"):
        typer.echo("that is the most one replay sends back: run it again for the rest")


@app.command("purge")
@reported
def purge(
    ctx: typer.Context,
    lot: str = LOT,
    ids: list[str] | None = IDS,
    reason: str | None = REASON,
    every: bool = ALL,
    yes_i_mean: str | None = typer.Option(
        None, "--yes-i-mean", help="the lot's name again: confirms without a prompt"
    ),
    local: bool = LOCAL,
    as_json: bool = JSON,
) -> None:
    """Delete parked messages for good, after the lot's name is typed again."""
    chosen = selection(ids, reason, every)
    name = lot_name(lot)
    confirm = (
        yes_i_mean if yes_i_mean is not None else typer.prompt(f"type {name} to purge", err=True)
    )
    if lot_name(confirm) != name:
        raise CliError(f"confirmation {confirm!r} does not match {name}: nothing purged")
    if local:
        count = broker.with_lot(
            BusSettings(),
            lambda p: p.purge(
                work_queue(lot), message_ids=set(ids) if ids else None, reason=reason
            ),
        )
        result: dict[str, Any] = {"purged": count}
    else:
        with session(ctx).client() as api:
            result = api.post(f"/v1/operator/parking/{name}/purge", {"confirm": name, **chosen})
    if as_json:
        emit_json(result)
        return
    typer.echo(f"purged {result['purged']} message(s) from {name}")

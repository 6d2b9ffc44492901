"""`tradebus-bus`: operator commands for the topology and the parking lots."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import aio_pika
import typer

from .declare import declare
from .parking import ParkingLot, group_by_exception
from .settings import BusSettings
from .topology import Topology, base_topology, endpoint_topology, parking_queue
from .verify import LiveState, compare, fetch_live

app = typer.Typer(
    help="Operate the tradebus RabbitMQ topology and parking lots.", no_args_is_help=True
)
topology_app = typer.Typer(help="Declare or verify the topology.", no_args_is_help=True)
parking_app = typer.Typer(help="Inspect, replay or purge parked messages.", no_args_is_help=True)
app.add_typer(topology_app, name="topology")
app.add_typer(parking_app, name="parking")

T = TypeVar("T")


def _run(fn: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(fn())  # type: ignore[arg-type]


def discovered_endpoints(live: LiveState, settings: BusSettings) -> Topology:
    """Every live queue with a parking lot is one of our endpoints: check the
    invariants all endpoints share (arguments, parking and retry bindings)."""
    topo = Topology()
    for name, queue in live.queues.items():
        if name.endswith(".dlq") or parking_queue(name) not in live.queues:
            continue
        queue_type = (queue.get("arguments") or {}).get("x-queue-type", "classic")
        topo = topo + endpoint_topology(
            name,
            exchange="",
            routing_keys=(),
            levels=settings.delay_levels,
            queue_type="quorum" if queue_type == "quorum" else "classic",
            delivery_limit=settings.delivery_limit,
        )
    # endpoint_topology adds an exchange binding per routing key; none were given.
    return Topology(topo.exchanges, topo.queues, tuple(b for b in topo.bindings if b.source))


@topology_app.command("verify")
def verify_cmd() -> None:
    """Report drift between the declared topology and the live broker; exit 1 on drift."""
    settings = BusSettings()

    async def go() -> int:
        live = await fetch_live(settings.management_url)
        expected = base_topology(settings.delay_levels) + discovered_endpoints(live, settings)
        drift = compare(expected, live)
        for item in drift:
            typer.echo(f"DRIFT {item}")
        typer.echo(
            f"{len(expected.exchanges)} exchanges, {len(expected.queues)} queues, "
            f"{len(expected.bindings)} bindings checked; {len(drift)} drift"
        )
        return 1 if drift else 0

    raise typer.Exit(_run(go))


@topology_app.command("declare")
def declare_cmd() -> None:
    """Declare the shared exchanges and the delayed-retry network."""
    settings = BusSettings()

    async def go() -> None:
        connection = await aio_pika.connect(settings.url)
        async with connection:
            await declare(await connection.channel(), base_topology(settings.delay_levels))
        typer.echo("declared")

    _run(go)


async def _with_lot(fn: Callable[[ParkingLot], Awaitable[T]]) -> T:
    settings = BusSettings()
    connection = await aio_pika.connect(settings.url)
    async with connection:
        return await fn(ParkingLot(connection, levels=settings.delay_levels))


@parking_app.command("list")
def list_cmd(
    queue: str = typer.Argument(..., help="work queue, e.g. omnirag-ingest.ingest"),
    limit: int = typer.Option(100, help="messages to show at most"),
    as_json: bool = typer.Option(False, "--json", help="one JSON object per line"),
) -> None:
    """List parked messages with their reasons, grouped by exception type."""
    parked = _run(lambda: _with_lot(lambda lot: lot.list(queue, limit=limit)))
    if as_json:
        for p in parked:
            typer.echo(json.dumps({k: v for k, v in _public(p).items()}, default=str))
        return
    typer.echo(f"{len(parked)} parked message(s) in {parking_queue(queue)}")
    for exc_type, count in group_by_exception(parked):
        typer.echo(f"\n{count:>6}  {exc_type}")
        for p in (p for p in parked if p.exception_type == exc_type):
            typer.echo(
                f"        {p.message_id}  {p.message_type}  reason={p.reason} "
                f"attempts={p.attempts}  {p.exception_message[:120]}"
            )


@parking_app.command("replay")
def replay_cmd(
    queue: str = typer.Argument(..., help="work queue whose parking lot to replay"),
    message_id: list[str] = typer.Option(None, "--id", help="replay only these message ids"),
    limit: int = typer.Option(None, help="replay at most this many"),
) -> None:
    """Send parked messages back to their queue with attempts reset."""
    ids = set(message_id) if message_id else None
    count = _run(lambda: _with_lot(lambda lot: lot.replay(queue, message_ids=ids, limit=limit)))
    typer.echo(f"replayed {count} message(s) to {queue}")


@parking_app.command("purge")
def purge_cmd(
    queue: str = typer.Argument(...),
    yes: bool = typer.Option(False, "--yes", help="confirm: parked messages are deleted"),
) -> None:
    """Delete every parked message of a queue."""
    if not yes:
        typer.echo("refusing to purge without --yes", err=True)
        raise typer.Exit(2)
    count = _run(lambda: _with_lot(lambda lot: lot.purge(queue)))
    typer.echo(f"purged {count} message(s) from {parking_queue(queue)}")


def _public(p: Any) -> dict[str, Any]:
    return {
        "message_id": p.message_id,
        "message_type": p.message_type,
        "queue": p.queue,
        "reason": p.reason,
        "exception_type": p.exception_type,
        "exception_message": p.exception_message,
        "attempts": p.attempts,
        "first_failure_at": p.first_failure_at,
        "last_failure_at": p.last_failure_at,
    }


def main() -> None:
    try:
        app()
    except aio_pika.exceptions.AMQPConnectionError as exc:
        print(f"cannot reach RabbitMQ: {exc}", file=sys.stderr)
        sys.exit(3)


if __name__ == "__main__":
    main()

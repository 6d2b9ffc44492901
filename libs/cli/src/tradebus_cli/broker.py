"""What needs the broker itself (RABBITMQ_URL and its management API), not the gateway:
declaring the topology, and `--local` parking and verification where no gateway runs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import aio_pika
from aio_pika.exceptions import AMQPConnectionError, AMQPError

from tradebus_messaging.declare import declare
from tradebus_messaging.errors import BrokerUnavailable
from tradebus_messaging.parking import ParkedMessage, ParkingLot, UnknownParkingLot, connected_lot
from tradebus_messaging.queue_stats import vhost_of
from tradebus_messaging.settings import BusSettings
from tradebus_messaging.topology import base_topology
from tradebus_messaging.verify import compare, discovered_endpoints, fetch_live

from .errors import CliError

T = TypeVar("T")


def _run(coro: Awaitable[T]) -> T:
    async def go() -> T:
        return await coro

    # aio-pika logs a failed connect as well; the one line below says it.
    for name in ("aio_pika", "aiormq"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    try:
        return asyncio.run(go())
    except (AMQPConnectionError, OSError) as exc:
        raise CliError(f"cannot reach RabbitMQ: {exc}") from exc
    except AMQPError as exc:  # e.g. NOT_FOUND: no such parking lot
        raise CliError(f"RabbitMQ: {exc}") from exc


def declare_base(settings: BusSettings) -> None:
    """The shared exchanges and the delayed-retry network."""

    async def go() -> None:
        connection = await aio_pika.connect(settings.url)
        async with connection:
            await declare(await connection.channel(), base_topology(settings.delay_levels))

    _run(go())


def verify(settings: BusSettings) -> dict[str, Any]:
    """The operator topology report's shape, computed here from the management API."""

    async def go() -> dict[str, Any]:
        live = await fetch_live(settings.management_url, vhost_of(settings.url))
        expected = base_topology(settings.delay_levels) + discovered_endpoints(live, settings)
        drift = compare(expected, live)
        declared = [
            *(
                {
                    "kind": "exchange",
                    "name": e.name,
                    "arguments": {"type": e.type, "durable": e.durable},
                }
                for e in expected.exchanges
            ),
            *({"kind": "queue", "name": q.name, "arguments": q.arguments} for q in expected.queues),
            *(
                {
                    "kind": "binding",
                    "name": f"{b.source} -> {b.destination}",
                    "arguments": {
                        "routing_key": b.routing_key,
                        "destination_type": b.destination_type,
                    },
                }
                for b in expected.bindings
            ),
        ]
        return {
            "declared": declared,
            "drift": [
                {
                    "kind": d.kind,
                    "name": d.name,
                    "problem": _problem(d.problem),
                    "detail": d.problem,
                }
                for d in drift
            ],
            "ok": not drift,
        }

    try:
        return _run(go())
    except Exception as exc:  # the management API's httpx errors
        if isinstance(exc, CliError):
            raise
        raise CliError(f"cannot read the RabbitMQ management API: {exc}") from exc


def _problem(text: str) -> str:
    """The operator API's drift vocabulary; the full text stays in `detail`."""
    for problem in ("missing", "unexpected"):
        if text.startswith(problem):
            return problem
    return "different"


def with_lot(settings: BusSettings, fn: Callable[[ParkingLot], Awaitable[T]]) -> T:
    async def go() -> T:
        try:
            async with connected_lot(settings.url, levels=settings.delay_levels) as lot:
                return await fn(lot)
        except BrokerUnavailable as exc:
            raise CliError(str(exc)) from exc
        except UnknownParkingLot as exc:
            raise CliError(f"no such parking lot: {exc}") from exc

    return _run(go())


def item(parked: ParkedMessage) -> dict[str, Any]:
    """A parked message in the operator API's shape."""
    return {
        "message_id": parked.message_id,
        "type": parked.message_type,
        "tenant_id": _header(parked, "tenant_id", "cloudEvents:tenantid"),
        "task_id": _header(parked, "task_id", "cloudEvents:taskid"),
        "reason": parked.reason,
        "exception": parked.exception_type,
        "message": parked.exception_message,
        "parked_at": parked.last_failure_at,
        "attempts": parked.attempts,
        "headers": {k: str(v) for k, v in parked.headers.items()},
        "body_preview": parked.body[:2048].decode(errors="replace"),
    }


def _header(parked: ParkedMessage, *names: str) -> str | None:
    for name in names:
        if parked.headers.get(name) is not None:
            return str(parked.headers[name])
    return None

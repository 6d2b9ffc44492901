"""Apply a Topology to a live broker. Idempotent: RabbitMQ accepts a re-declare with
identical arguments, so replicas starting together converge on the same objects."""

from __future__ import annotations

import aio_pika
from aio_pika.abc import AbstractChannel

from .topology import Topology

_TYPES = {
    "direct": aio_pika.ExchangeType.DIRECT,
    "topic": aio_pika.ExchangeType.TOPIC,
    "fanout": aio_pika.ExchangeType.FANOUT,
    "headers": aio_pika.ExchangeType.HEADERS,
}


class TopologyConflict(RuntimeError):
    """A live object exists with other arguments than the ones we declare."""


async def declare(channel: AbstractChannel, topology: Topology) -> None:
    try:
        for ex in topology.exchanges:
            await channel.declare_exchange(
                ex.name, _TYPES[ex.type], durable=ex.durable, arguments=dict(ex.arguments) or None
            )
        for q in topology.queues:
            await channel.declare_queue(q.name, durable=q.durable, arguments=q.arguments)
        for b in topology.bindings:
            if b.destination_type == "exchange":
                dest_ex = await channel.get_exchange(b.destination, ensure=False)
                await dest_ex.bind(
                    b.source, routing_key=b.routing_key, arguments=dict(b.arguments) or None
                )
            else:
                queue = await channel.get_queue(b.destination, ensure=False)
                await queue.bind(
                    b.source, routing_key=b.routing_key, arguments=dict(b.arguments) or None
                )
    except aio_pika.exceptions.ChannelPreconditionFailed as exc:
        raise TopologyConflict(
            f"{exc}. The live broker disagrees with the declared topology; "
            "run `tradebus topology verify` to see the drift."
        ) from exc

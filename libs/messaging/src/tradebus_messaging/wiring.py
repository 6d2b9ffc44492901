"""How an endpoint becomes its queues and its consumer pipeline."""

from __future__ import annotations

from aio_pika.abc import AbstractChannel

from .consumer import Consumer
from .declare import declare
from .decode import Decoder
from .dispatch import Dispatcher
from .endpoint import Endpoint
from .fair_topology import fair_endpoint_topology
from .outcomes import Outcomes
from .pipeline import Pipeline, Replier
from .retry import RetryPolicy
from .settings import BusSettings
from .throttle import Throttle
from .topology import Topology, endpoint_topology


def topology_of(e: Endpoint, s: BusSettings) -> Topology:
    if e.fair_shards:
        return fair_endpoint_topology(
            e.queue,
            exchange=e.exchange,
            routing_keys=e.routing_keys,
            levels=s.delay_levels,
            shards=e.fair_shards,
            delivery_limit=s.delivery_limit,
        )
    return endpoint_topology(
        e.queue,
        exchange=e.exchange,
        routing_keys=e.routing_keys,
        levels=s.delay_levels,
        queue_type=e.queue_type,
        delivery_limit=s.delivery_limit,
        # An RPC request is worthless after its deadline: the broker never
        # dead-letters it, but the runtime parks what it cannot read.
        dead_letter=not e.rpc,
        parking_lot=True,
        expires_ms=e.expires_ms,
        parking=e.parking,
    )


def consumer_for(
    endpoint: Endpoint,
    *,
    settings: BusSettings,
    policy: RetryPolicy,
    outcomes: Outcomes,
    dispatcher: Dispatcher,
    replier: Replier | None,
    throttle: Throttle | None = None,
) -> Consumer:
    async def prepare(channel: AbstractChannel) -> None:
        # Re-declared on every (re)start of the consumer: a deleted queue comes back.
        await declare(channel, topology_of(endpoint, settings))
        if endpoint.fair_shards:
            await unbind_direct(channel, endpoint)

    decoder = Decoder(
        endpoint.queue,
        endpoint.models,
        settings.max_body_bytes,
        settings.poison_redeliveries,
    )
    pipeline = Pipeline(
        endpoint,
        decoder=decoder,
        policy=policy,
        outcomes=outcomes,
        dispatcher=dispatcher,
        replier=replier,
        throttle=throttle,
    )
    return Consumer(endpoint, pipeline=pipeline, prepare=prepare, metrics=outcomes.metrics)


async def unbind_direct(channel: AbstractChannel, endpoint: Endpoint) -> None:
    """An endpoint that became fair drops the bindings that fed `<queue>` directly
    (else every message would arrive twice: there and in a lane). Idempotent."""
    queue = await channel.get_queue(endpoint.queue, ensure=False)
    for key in endpoint.routing_keys:
        await queue.unbind(endpoint.exchange, routing_key=key)

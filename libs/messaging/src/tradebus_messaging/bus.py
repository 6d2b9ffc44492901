"""The Bus: one process's connection to RabbitMQ, its consumers, publisher and RPC client.

The parts: `ConnectionSupervisor` (supervisor.py) keeps the connection,
`Registrations` (registration.py) the endpoints and their consumers, `Outbound`
(outbound.py) everything sent. The Bus is their face and their order of play.

A supervisor task owns the connection. After any loss it reconnects with
capped exponential backoff, re-declares the topology (idempotent) and
re-establishes every consumer; readiness is false until it has.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from aio_pika.abc import AbstractConnection

from tradebus_contracts import Contract, Envelope, MessageKind, MessageRegistry

from .channels import scratch_channel
from .consumer import Consumer
from .context import Handler
from .declare import declare
from .endpoint import Endpoint
from .errors import BrokerUnavailable
from .inbox import Inbox
from .outbound import Outbound
from .registration import Registrations, subscribed_exchange
from .settings import BusSettings
from .supervisor import ConnectionSupervisor
from .topology import COMMANDS, QueueType, Topology


class Bus:
    def __init__(
        self,
        settings: BusSettings,
        *,
        registry: MessageRegistry,
        inbox: Inbox | None = None,
    ) -> None:
        self.settings = settings
        self.registry = registry
        self._outbound = Outbound(settings, registry=registry)
        self._registrations = Registrations(
            settings, inbox=inbox, outbound=self._outbound, publish=self.publish
        )
        self._connector = ConnectionSupervisor(settings, setup=self._setup, detach=self._detach)

    # -- wiring ------------------------------------------------------------

    def subscribe(
        self,
        *,
        queue: str,
        message_types: Iterable[str],
        handler: Handler,
        prefetch: int | None = None,
        concurrency: int | None = None,
        use_inbox: bool = False,
        queue_type: QueueType = "quorum",
        bind_keys: Iterable[str] = (),
        expires_seconds: float | None = None,
        parking: str | None = None,
        time_limit_seconds: float | None = None,
        rate_limit: str | None = None,
        fair: bool = False,
    ) -> None:
        """Consume `message_types` from the queue `queue` (`<service>.<handler>`).

        For a queue of one replica's own (every replica sees every event, e.g.
        `<service>.<handler>.<replica>`): `expires_seconds` lets the broker delete it
        once no consumer has used it that long, and `parking` names the shared
        endpoint (`<service>.<handler>`) whose parking lot takes its failures.
        `rate_limit` (`10/minute`) caps consumption across every replica; the
        `consume_rates` setting overrides it per queue. `fair` shares the endpoint
        between tenants (shard queues, see fairness.py); for shared quorum queues."""
        if fair and (queue_type != "quorum" or expires_seconds is not None or parking):
            raise ValueError(f"{queue}: a fair endpoint is a shared quorum queue")
        models = {t: self.registry.model_for(t) for t in message_types}
        exchange = subscribed_exchange(queue, models)
        self._add(
            Endpoint(
                queue=queue,
                exchange=exchange,
                models=models,
                handler=handler,
                prefetch=prefetch or self.settings.prefetch,
                concurrency=concurrency or self.settings.concurrency,
                use_inbox=use_inbox,
                queue_type=queue_type,
                bind_keys=tuple(bind_keys),
                expires_ms=None if expires_seconds is None else int(expires_seconds * 1000),
                parking=parking,
                time_limit_seconds=time_limit_seconds or self.settings.handler_time_limit_seconds,
                rate_limit=self.settings.consume_rates.get(queue, rate_limit),
                fair_shards=self.settings.fair_shards if fair else 0,
            )
        )

    def serve(
        self,
        *,
        queue: str,
        request_type: str,
        handler: Handler,
        prefetch: int | None = None,
        concurrency: int | None = None,
        queue_type: QueueType = "classic",
        time_limit_seconds: float | None = None,
    ) -> None:
        """Answer RPC requests of `request_type`. The handler returns the reply
        contract; an exception becomes an error reply, never silence. A request that
        cannot be read is answered with an error when it can be, and parked.

        RPC queues default to classic: a request is worthless after its deadline,
        so replicated storage would add latency and buy nothing."""
        model = self.registry.model_for(request_type)
        if model.kind is not MessageKind.REQUEST:
            raise ValueError(f"{request_type} is not a request")
        self._add(
            Endpoint(
                queue=queue,
                exchange=COMMANDS,
                models={request_type: model},
                handler=handler,
                prefetch=prefetch or self.settings.prefetch,
                concurrency=concurrency or self.settings.concurrency,
                queue_type=queue_type,
                rpc=True,
                time_limit_seconds=time_limit_seconds or self.settings.handler_time_limit_seconds,
            )
        )

    def _add(self, endpoint: Endpoint) -> None:
        self._registrations.add(endpoint, started=self._connector.running)

    @property
    def _endpoints(self) -> list[Endpoint]:
        return self._registrations.endpoints

    @property
    def _consumers(self) -> list[Consumer]:
        return self._registrations.consumers

    def topology(self) -> Topology:
        """Everything this process declares: the shared base plus its endpoints."""
        return self._registrations.topology()

    # -- lifecycle ---------------------------------------------------------

    async def start(self, *, wait: bool = True) -> None:
        if self._connector.running:
            return
        await self._connector.start(wait=wait)

    async def stop(self) -> None:
        """Graceful: stop consuming, let in-flight handlers finish within the
        grace period, ack what finished, close the connection."""
        grace = self.settings.shutdown_grace_seconds
        # Consumers first: in-flight handlers must still be able to ack on their
        # channel; the connection closes after.
        await asyncio.gather(*(c.stop(grace) for c in self._consumers), return_exceptions=True)
        await self._connector.stop()
        await self._registrations.close()

    async def _setup(self, connection: AbstractConnection) -> None:
        async with scratch_channel(connection) as channel:
            await declare(channel, self.topology())
        await self._outbound.open(connection)
        for consumer in self._consumers:
            await consumer.start(connection)

    def _detach(self) -> None:
        self._outbound.detach()
        for consumer in self._consumers:
            consumer.detach()

    # -- state -------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._connector.connected

    def readiness(self) -> dict[str, bool]:
        checks = {"rabbitmq": self.connected and self._outbound.ready}
        for consumer in self._consumers:
            checks[f"consumer:{consumer.endpoint.queue}"] = consumer.alive
        return checks

    def healthy(self) -> bool:
        """Liveness: false once a consumer has been missing past the bound, so the
        orchestrator restarts a process that cannot recover by itself."""
        bound = self.settings.consumer_missing_unhealthy_seconds
        return all(c.missing_for() < bound for c in self._consumers)

    def in_flight(self) -> dict[str, int]:
        return {c.endpoint.queue: c.in_flight for c in self._consumers}

    async def queue_depth(self, queue: str) -> int:
        """Ready messages in `queue` (passive declare; cheap, no management API)."""
        connection = self._connector.connection
        if connection is None or connection.is_closed:
            raise BrokerUnavailable("not connected to RabbitMQ")
        async with scratch_channel(connection) as channel:
            declared = await channel.declare_queue(queue, passive=True)
            return int(declared.declaration_result.message_count or 0)

    # -- sending -----------------------------------------------------------

    async def publish(
        self,
        payload: Contract,
        *,
        tenant_id: str | None = None,
        subject: str | None = None,
        causation: Envelope | None = None,
        correlation_id: str | None = None,
        traceparent: str | None = None,
        message_id: str | None = None,
        task_id: str | None = None,
        priority: str | None = None,
    ) -> Envelope:
        """Publish a command or event and return its envelope once the broker
        confirmed it. A command nobody consumes raises UnroutableMessage; an
        event nobody subscribes to is counted and dropped (that is a fact with
        no audience, not a failure). A deterministic `message_id` lets a
        re-publish (after a crash or by a reconciler) be recognised by inboxes.
        `task_id` names the task the message works on (inherited from `causation`):
        if the message is ever parked, that task is failed with the reason.
        `priority` (inherited from `causation` too) chooses its lane on fair endpoints."""
        return await self._outbound.publish(
            payload,
            tenant_id=tenant_id,
            subject=subject,
            causation=causation,
            correlation_id=correlation_id,
            traceparent=traceparent,
            message_id=message_id,
            task_id=task_id,
            priority=priority,
        )

    async def publish_delayed(
        self,
        payload: Contract,
        *,
        queue: str,
        delay_seconds: int,
        causation: Envelope | None = None,
        tenant_id: str | None = None,
        message_id: str | None = None,
    ) -> Envelope:
        """Deliver `payload` to the queue `queue` after `delay_seconds` (whole seconds,
        up to the delay network's 2^levels - 1), through the broker's delay network:
        nothing sleeps, nothing holds a prefetch slot meanwhile, a restart loses
        nothing. Confirmed like any publish; for jobs a handler schedules itself
        (e.g. a webhook's next attempt on its own schedule)."""
        return await self._outbound.publish_delayed(
            payload,
            queue=queue,
            delay_seconds=delay_seconds,
            causation=causation,
            tenant_id=tenant_id,
            message_id=message_id,
        )

    async def request(
        self,
        payload: Contract,
        *,
        timeout: float,
        tenant_id: str | None = None,
        correlation_id: str | None = None,
        traceparent: str | None = None,
    ) -> Contract:
        return await self._outbound.rpc.request(
            payload,
            timeout=timeout,
            tenant_id=tenant_id,
            correlation_id=correlation_id,
            traceparent=traceparent,
        )

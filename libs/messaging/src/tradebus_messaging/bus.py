"""The Bus: one process's connection to RabbitMQ, its consumers, publisher and RPC client.

A supervisor task owns the connection. After any loss it reconnects with
capped exponential backoff, re-declares the topology (idempotent) and
re-establishes every consumer; readiness is false until it has.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable

import structlog
from aio_pika.abc import AbstractConnection

from tradebus_contracts import Contract, Envelope, MessageKind, MessageRegistry
from tradebus_contracts.faults import MessageFaulted
from tradebus_resilience import SharedLimits

from . import tracing
from .consumer import Consumer
from .context import Handler
from .declare import declare
from .dispatch import Dispatcher
from .endpoint import Endpoint
from .envelopes import envelope_for
from .errors import BrokerUnavailable, UnroutableMessage
from .fairness import H_LANE, LanePicker, parse_priority
from .inbox import Inbox
from .metrics import PUBLISHED, QueueMetrics
from .outcomes import Outcomes
from .publisher import Publisher, build_message, exchange_for
from .retry import RetryPolicy
from .rpc import RpcClient, RpcReplier
from .settings import BusSettings
from .supervisor import ConnectionSupervisor
from .throttle import Throttle
from .topology import (
    COMMANDS,
    EVENTS,
    RETRY,
    QueueType,
    Topology,
    base_topology,
    delay_routing_key,
)
from .wiring import consumer_for, topology_of

log = structlog.get_logger("tradebus.bus")


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
        self._inbox = inbox
        self._source = f"tradebus/{settings.service}"
        self._policy = RetryPolicy(
            settings.max_attempts,
            settings.retry_base_seconds,
            settings.retry_cap_seconds,
            outage_budget_seconds=settings.outage_budget_seconds,
            outage_cap_seconds=settings.outage_retry_cap_seconds,
        )
        self._endpoints: list[Endpoint] = []
        self._consumers: list[Consumer] = []
        self._limits: SharedLimits | None = None  # created for the first throttled endpoint
        self._publisher = Publisher(timeout=settings.publish_timeout_seconds)
        self._lanes = LanePicker(settings.fair_shards, settings.fair_weights)
        self._rpc = RpcClient(registry, source=self._source)
        self._replier = RpcReplier(source=self._source)
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
        kinds = {m.kind for m in models.values()}
        if len(kinds) != 1 or not kinds <= {MessageKind.COMMAND, MessageKind.EVENT}:
            raise ValueError(f"{queue}: subscribe to commands or events, not {kinds}")
        exchange = COMMANDS if MessageKind.COMMAND in kinds else EVENTS
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
        if any(e.queue == endpoint.queue for e in self._endpoints):
            raise ValueError(f"queue {endpoint.queue} is already subscribed")
        if self._connector.running:
            raise RuntimeError("subscribe before start()")
        self._endpoints.append(endpoint)
        self._consumers.append(self._consumer(endpoint))

    def _consumer(self, endpoint: Endpoint) -> Consumer:
        metrics = QueueMetrics(endpoint.queue)
        return consumer_for(
            endpoint,
            settings=self.settings,
            policy=self._policy,
            outcomes=Outcomes(
                queue=endpoint.queue,
                parking_key=endpoint.parking_key,
                publisher=self._publisher,
                levels=self.settings.delay_levels,
                service=self.settings.service,
                host=self.settings.host,
                parked_body_max_bytes=self.settings.parked_body_max_bytes,
                metrics=metrics,
                on_fault=self._publish_fault,
            ),
            dispatcher=Dispatcher(endpoint, self._inbox, self.publish, metrics),
            replier=self._replier if endpoint.rpc else None,
            throttle=self._throttle(endpoint),
        )

    def _throttle(self, endpoint: Endpoint) -> Throttle | None:
        if endpoint.rate_limit is None:
            return None
        if self._limits is None:  # one store for every throttled endpoint of the process
            s = self.settings
            self._limits = SharedLimits(s.redis_url, prefix=s.limits_prefix, exact=True)
        return Throttle(endpoint.queue, endpoint.rate_limit, self._limits)

    def topology(self) -> Topology:
        """Everything this process declares: the shared base plus its endpoints."""
        s = self.settings
        topo = base_topology(s.delay_levels)
        for e in self._endpoints:
            topo = topo + self._endpoint_topology(e)
        return topo

    def _endpoint_topology(self, e: Endpoint) -> Topology:
        return topology_of(e, self.settings)

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
        if self._limits is not None:
            await self._limits.close()
            self._limits = None

    async def _setup(self, connection: AbstractConnection) -> None:
        channel = await connection.channel()
        try:
            await declare(channel, self.topology())
        finally:
            with contextlib.suppress(Exception):
                await channel.close()
        await self._publisher.open(connection)
        await self._rpc.open(connection)
        await self._replier.open(connection)
        for consumer in self._consumers:
            await consumer.start(connection)

    def _detach(self) -> None:
        self._publisher.detach()
        self._rpc.detach()
        self._replier.detach()
        for consumer in self._consumers:
            consumer.detach()

    # -- state -------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._connector.connected

    def readiness(self) -> dict[str, bool]:
        checks = {"rabbitmq": self.connected and self._publisher.ready}
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
        channel = await connection.channel()
        try:
            declared = await channel.declare_queue(queue, passive=True)
            return int(declared.declaration_result.message_count or 0)
        finally:
            with contextlib.suppress(Exception):
                await channel.close()

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
        envelope = envelope_for(
            payload.message_type,
            self._source,
            tenant_id=tenant_id,
            subject=subject,
            causation=causation,
            correlation_id=correlation_id,
            traceparent=traceparent,
            message_id=message_id,
            task_id=task_id,
            priority=parse_priority(priority) if priority else None,
        )
        exchange = exchange_for(payload.kind)
        # Every message names its lane: a fair endpoint routes on it, others ignore it.
        lane = {H_LANE: self._lanes.lane(envelope.tenant_id, parse_priority(envelope.priority))}
        envelope, sent = tracing.send_span(
            envelope, exchange=exchange, routing_key=payload.message_type
        )
        try:
            with sent:
                await self._publisher.publish(payload, envelope, exchange=exchange, headers=lane)
        except UnroutableMessage:
            if payload.kind is MessageKind.EVENT:
                PUBLISHED.labels(exchange, "unrouted").inc()
                return envelope
            PUBLISHED.labels(exchange, "unroutable").inc()
            raise
        except Exception:
            PUBLISHED.labels(exchange, "error").inc()
            raise
        PUBLISHED.labels(exchange, "ok").inc()
        return envelope

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
        envelope = envelope_for(
            payload.message_type,
            self._source,
            tenant_id=tenant_id,
            causation=causation,
            message_id=message_id,
        )
        routing = delay_routing_key(delay_seconds, queue, self.settings.delay_levels)
        envelope, sent = tracing.send_span(envelope, exchange=RETRY, routing_key=routing)
        message = build_message(payload.model_dump_json().encode(), envelope)
        try:
            with sent:
                await self._publisher.publish_raw(RETRY, routing, message)
        except Exception:
            PUBLISHED.labels(RETRY, "error").inc()
            raise
        PUBLISHED.labels(RETRY, "ok").inc()
        return envelope

    async def request(
        self,
        payload: Contract,
        *,
        timeout: float,
        tenant_id: str | None = None,
        correlation_id: str | None = None,
        traceparent: str | None = None,
    ) -> Contract:
        return await self._rpc.request(
            payload,
            timeout=timeout,
            tenant_id=tenant_id,
            correlation_id=correlation_id,
            traceparent=traceparent,
        )

    async def _publish_fault(self, event: MessageFaulted) -> None:
        """Parking is an event: alerting, dashboards and the task watchdog learn of it
        at once. Not caused by the parked message, so it starts its own trail."""
        await self.publish(
            event,
            tenant_id=event.tenant_id,
            correlation_id=event.correlation_id,
            task_id=event.task_id,
        )

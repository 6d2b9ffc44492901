"""The Bus: one process's connection to RabbitMQ, its consumers, publisher and RPC client.

A supervisor task owns the connection. After any loss it reconnects with
capped exponential backoff, re-declares the topology (idempotent) and
re-establishes every consumer; readiness is false until it has.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import aio_pika
import structlog
from aio_pika.abc import AbstractConnection
from yarl import URL

from tradebus_contracts import Contract, Envelope, MessageKind, MessageRegistry

from .consumer import Consumer, Endpoint, _Fault
from .context import Handler
from .declare import TopologyConflict, declare
from .errors import BrokerUnavailable, UnroutableMessage
from .failures import (
    H_ATTEMPT,
    H_FIRST_FAILURE,
    H_LAST_FAILURE,
    H_ORIGINAL_EXCHANGE,
    H_ORIGINAL_ROUTING_KEY,
    RetryPolicy,
)
from .inbox import Inbox
from .metrics import PUBLISHED
from .publisher import Publisher, exchange_for
from .rpc import RpcClient, RpcReplier
from .settings import BusSettings
from .topology import COMMANDS, EVENTS, QueueType, Topology, base_topology, endpoint_topology

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
            settings.max_attempts, settings.retry_base_seconds, settings.retry_cap_seconds
        )
        self._endpoints: list[Endpoint] = []
        self._consumers: list[Consumer] = []
        self._publisher = Publisher(timeout=settings.publish_timeout_seconds)
        self._rpc = RpcClient(registry, source=self._source)
        self._replier = RpcReplier(source=self._source)
        self._connection: AbstractConnection | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._up = asyncio.Event()
        self._first_error: BaseException | None = None

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
    ) -> None:
        """Consume `message_types` from the queue `queue` (`<service>.<handler>`).

        For a queue of one replica's own (every replica sees every event, e.g.
        `<service>.<handler>.<replica>`): `expires_seconds` lets the broker delete it
        once no consumer has used it that long, and `parking` names the shared
        endpoint (`<service>.<handler>`) whose parking lot takes its failures."""
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
    ) -> None:
        """Answer RPC requests of `request_type`. The handler returns the reply
        contract; an exception becomes an error reply, never silence.

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
            )
        )

    def _add(self, endpoint: Endpoint) -> None:
        if any(e.queue == endpoint.queue for e in self._endpoints):
            raise ValueError(f"queue {endpoint.queue} is already subscribed")
        if self._supervisor is not None:
            raise RuntimeError("subscribe before start()")
        self._endpoints.append(endpoint)
        self._consumers.append(
            Consumer(
                endpoint,
                publisher=self._publisher,
                policy=self._policy,
                levels=self.settings.delay_levels,
                service=self.settings.service,
                host=self.settings.host,
                max_body_bytes=self.settings.max_body_bytes,
                inbox=self._inbox,
                publish_follow_up=self.publish,
                on_fault=self._publish_fault,
                replier=self._replier if endpoint.rpc else None,
            )
        )

    def topology(self) -> Topology:
        """Everything this process declares: the shared base plus its endpoints."""
        s = self.settings
        topo = base_topology(s.delay_levels)
        for e in self._endpoints:
            topo = topo + endpoint_topology(
                e.queue,
                exchange=e.exchange,
                routing_keys=e.routing_keys,
                levels=s.delay_levels,
                queue_type=e.queue_type,
                delivery_limit=s.delivery_limit,
                dead_letter=not e.rpc,
                expires_ms=e.expires_ms,
                parking=e.parking,
            )
        return topo

    # -- lifecycle ---------------------------------------------------------

    async def start(self, *, wait: bool = True) -> None:
        if self._supervisor is not None:
            return
        self._stopping.clear()
        self._supervisor = asyncio.create_task(self._supervise(), name="tradebus-bus")
        if not wait:
            return
        waiter = asyncio.create_task(self._up.wait())
        done, _ = await asyncio.wait(
            {waiter, self._supervisor},
            timeout=self.settings.connect_timeout_seconds,
            return_when=asyncio.FIRST_COMPLETED,
        )
        if waiter not in done:
            waiter.cancel()
            error = self._first_error
            await self.stop()
            if isinstance(error, TopologyConflict):
                raise error
            raise BrokerUnavailable(
                f"could not connect to RabbitMQ at {_redact(self.settings.url)} within "
                f"{self.settings.connect_timeout_seconds}s: {error!r}. Is rabbitmq-server "
                "running? (scripts/ensure-rabbitmq.sh starts the local one)"
            )

    async def stop(self) -> None:
        """Graceful: stop consuming, let in-flight handlers finish within the
        grace period, ack what finished, close the connection."""
        grace = self.settings.shutdown_grace_seconds
        # Consumers first: the supervisor detaches them once it sees _stopping,
        # and in-flight handlers must still be able to ack on their channel.
        await asyncio.gather(*(c.stop(grace) for c in self._consumers), return_exceptions=True)
        self._stopping.set()
        connection = self._connection
        if connection is not None and not connection.is_closed:
            await connection.close()
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
            self._supervisor = None
        self._up.clear()

    async def _supervise(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            connection: AbstractConnection | None = None
            try:
                connection = await aio_pika.connect(
                    self.settings.url,
                    timeout=self.settings.connect_timeout_seconds,
                    client_properties={
                        "connection_name": f"{self.settings.service}@{self.settings.host}"
                    },
                )
                self._connection = connection
                lost = asyncio.Event()
                # A plain connection's closed() resolves only on our own close();
                # the close callbacks also fire when the broker or network drops it.
                connection.close_callbacks.add(lambda *_, lost=lost: lost.set())
                await self._setup(connection)
                failures = 0
                self._up.set()
                log.info("bus connected", consumers=len(self._consumers))
                stop_wait = asyncio.ensure_future(self._stopping.wait())
                lost_wait = asyncio.ensure_future(lost.wait())
                await asyncio.wait({stop_wait, lost_wait}, return_when=asyncio.FIRST_COMPLETED)
                stop_wait.cancel()
                lost_wait.cancel()
                if self._stopping.is_set():
                    return
                log.warning("lost connection to RabbitMQ; reconnecting")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._first_error = self._first_error or exc
                failures += 1
                log.warning("bus connection attempt failed", error=repr(exc), attempt=failures)
            finally:
                self._up.clear()
                self._detach()
                if (
                    connection is not None
                    and not connection.is_closed
                    and not self._stopping.is_set()
                ):
                    with contextlib.suppress(Exception):
                        await connection.close()
            delay = min(self.settings.reconnect_max_seconds, 0.2 * 2 ** min(failures, 8))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), random.uniform(delay / 2, delay))

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

    def _connection_url(self) -> URL:
        # Operators find a process's connection in the management UI by this name.
        name = f"{self.settings.service}@{self.settings.host}"
        return URL(self.settings.url).update_query(name=name)

    def _detach(self) -> None:
        self._publisher.detach()
        self._rpc.detach()
        self._replier.detach()
        for consumer in self._consumers:
            consumer.detach()

    # -- state -------------------------------------------------------------

    @property
    def connected(self) -> bool:
        c = self._connection
        return self._up.is_set() and c is not None and c.connected.is_set()

    def readiness(self) -> dict[str, bool]:
        checks = {"rabbitmq": self.connected and self._publisher.ready}
        for consumer in self._consumers:
            checks[f"consumer:{consumer.endpoint.queue}"] = consumer.alive
        return checks

    def in_flight(self) -> dict[str, int]:
        return {c.endpoint.queue: c.in_flight for c in self._consumers}

    async def queue_depth(self, queue: str) -> int:
        """Ready messages in `queue` (passive declare; cheap, no management API)."""
        connection = self._connection
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
    ) -> Envelope:
        """Publish a command or event and return its envelope once the broker
        confirmed it. A command nobody consumes raises UnroutableMessage; an
        event nobody subscribes to is counted and dropped (that is a fact with
        no audience, not a failure). A deterministic `message_id` lets a
        re-publish (after a crash or by a reconciler) be recognised by inboxes."""
        if causation is not None:
            envelope = causation.caused(
                payload.message_type,
                self._source,
                subject=subject,
                **({"tenant_id": tenant_id} if tenant_id else {}),
                **({"id": message_id} if message_id else {}),
            )
        else:
            envelope = Envelope(
                type=payload.message_type,
                source=self._source,
                tenant_id=tenant_id,
                subject=subject,
                correlation_id=correlation_id,
                traceparent=traceparent,
            )
            if message_id:  # the conversation starts here: it is named after the message
                envelope = envelope.with_(
                    id=message_id, correlation_id=correlation_id or message_id
                )
        exchange = exchange_for(payload.kind)
        try:
            await self._publisher.publish(payload, envelope, exchange=exchange)
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

    async def _publish_fault(self, headers: dict[str, Any], fault: _Fault) -> None:
        """Parking is an event: alerting and dashboards learn of it at once."""
        now = datetime.now(UTC)
        try:
            from tradebus_contracts.faults import MessageFaulted

            event = MessageFaulted(
                message_id=str(headers.get("cloudEvents:id") or "unknown"),
                faulted_type=_opt(headers.get("cloudEvents:type")),
                queue=str(headers.get("x-tradebus-original-queue", "")),
                service=self.settings.service,
                host=self.settings.host,
                exception_type=fault.exc_type,
                exception_message=fault.message,
                attempts=int(headers.get(H_ATTEMPT, 1)),
                original_exchange=str(headers.get(H_ORIGINAL_EXCHANGE, "")),
                original_routing_key=str(headers.get(H_ORIGINAL_ROUTING_KEY, "")),
                first_failure_at=_parse_time(headers.get(H_FIRST_FAILURE)) or now,
                last_failure_at=_parse_time(headers.get(H_LAST_FAILURE)) or now,
                reason=fault.reason.value,
                tenant_id=_opt(headers.get("cloudEvents:tenantid")),
                correlation_id=_opt(headers.get("cloudEvents:correlationid")),
            )
            await self.publish(
                event, tenant_id=event.tenant_id, correlation_id=event.correlation_id
            )
        except Exception:
            # The message itself is safe in the parking lot; only the alert is lost.
            log.exception("could not publish message faulted event")


def _opt(value: Any) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)


def _parse_time(value: Any) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(_opt(value) or "")
    except ValueError:
        return None


def _redact(url: str) -> str:
    if "@" not in url:
        return url
    scheme, _, rest = url.partition("://")
    return f"{scheme}://***@{rest.split('@', 1)[1]}"

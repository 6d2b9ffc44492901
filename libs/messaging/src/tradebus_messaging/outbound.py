"""Everything one process sends: confirmed publishes (commands, events, delayed
jobs), RPC requests and RPC replies. Opened on every connection the supervisor
makes, detached when it is lost."""

from __future__ import annotations

from aio_pika.abc import AbstractConnection

from tradebus_contracts import Contract, Envelope, MessageKind, MessageRegistry
from tradebus_contracts.faults import MessageFaulted

from . import tracing
from .envelopes import envelope_for
from .errors import UnroutableMessage
from .fairness import H_LANE, LanePicker, parse_priority
from .metrics import PUBLISHED
from .publisher import Publisher, build_message, exchange_for
from .rpc import RpcClient, RpcReplier
from .settings import BusSettings
from .topology import RETRY, delay_routing_key


class Outbound:
    def __init__(self, settings: BusSettings, *, registry: MessageRegistry) -> None:
        self._levels = settings.delay_levels
        self.source = f"tradebus/{settings.service}"
        self.publisher = Publisher(timeout=settings.publish_timeout_seconds)
        self.replier = RpcReplier(source=self.source)
        self._lanes = LanePicker(settings.fair_shards, settings.fair_weights)
        self.rpc = RpcClient(registry, source=self.source)  # Bus.request's

    async def open(self, connection: AbstractConnection) -> None:
        await self.publisher.open(connection)
        await self.rpc.open(connection)
        await self.replier.open(connection)

    def detach(self) -> None:
        self.publisher.detach()
        self.rpc.detach()
        self.replier.detach()

    @property
    def ready(self) -> bool:
        return self.publisher.ready

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
        """Bus.publish: confirmed, mandatory; an unrouted event is counted, not raised."""
        envelope = envelope_for(
            payload.message_type,
            self.source,
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
                await self.publisher.publish(payload, envelope, exchange=exchange, headers=lane)
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
        """Bus.publish_delayed: into the delay network, routed to `queue` on exit."""
        envelope = envelope_for(
            payload.message_type,
            self.source,
            tenant_id=tenant_id,
            causation=causation,
            message_id=message_id,
        )
        routing = delay_routing_key(delay_seconds, queue, self._levels)
        envelope, sent = tracing.send_span(envelope, exchange=RETRY, routing_key=routing)
        message = build_message(payload.model_dump_json().encode(), envelope)
        try:
            with sent:
                await self.publisher.publish_raw(RETRY, routing, message)
        except Exception:
            PUBLISHED.labels(RETRY, "error").inc()
            raise
        PUBLISHED.labels(RETRY, "ok").inc()
        return envelope

    async def publish_fault(self, event: MessageFaulted) -> None:
        """Parking is an event: alerting, dashboards and the task watchdog learn of it
        at once. Not caused by the parked message, so it starts its own trail."""
        await self.publish(
            event,
            tenant_id=event.tenant_id,
            correlation_id=event.correlation_id,
            task_id=event.task_id,
        )

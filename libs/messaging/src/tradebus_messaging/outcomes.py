"""The durable copies that let a failed delivery be acknowledged: its delayed
retry, or its parked copy plus a `message faulted` event.

Both return True once the broker confirmed the copy (the original may be acked)
and False when it could not be made durable (requeue the original instead).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aio_pika
import structlog
from aiormq.abc import DeliveredMessage

from tradebus_contracts import Envelope
from tradebus_contracts.faults import MessageFaulted

from .decode import Inbound
from .errors import PublishError
from .failures import (
    H_BODY_BYTES,
    H_BODY_TRUNCATED,
    H_FIRST_FAILURE,
    H_ORIGINAL_EXCHANGE,
    H_ORIGINAL_ROUTING_KEY,
    H_OUTAGE_RETRIES,
    Fault,
    fault_headers,
    retry_headers,
)
from .metrics import QueueMetrics
from .publisher import Publisher
from .retry import Retry
from .topology import DLX, RETRY, delay_routing_key

log = structlog.get_logger("tradebus.consumer")

OnFault = Callable[[MessageFaulted], Awaitable[Any]]


@dataclass(slots=True)
class Outcomes:
    queue: str
    parking_key: str
    publisher: Publisher
    levels: int
    service: str
    host: str
    parked_body_max_bytes: int
    metrics: QueueMetrics
    on_fault: OnFault

    async def retry(
        self,
        msg: DeliveredMessage,
        inbound: Inbound,
        decision: Retry,
        exc: BaseException,
        *,
        lane: str | None = None,
    ) -> bool:
        """`lane`: the queue the delivery came from (a fair endpoint's shard), where
        the retry returns; the endpoint's queue by default."""
        exchange, routing_key = origin(msg)
        headers = retry_headers(
            msg.header.properties.headers,
            next_attempt=decision.next_attempt,
            original_exchange=exchange,
            original_routing_key=routing_key,
            now=datetime.now(UTC),
            exc=exc,
        )
        headers[H_OUTAGE_RETRIES] = decision.outage_retries
        routing = delay_routing_key(decision.delay_seconds, lane or self.queue, self.levels)
        try:
            await self.publisher.publish_raw(RETRY, routing, _copy(msg, headers, msg.body))
        except PublishError:
            log.warning("could not schedule retry; requeueing", queue=self.queue, exc_info=True)
            return False
        self.metrics.retried.inc()
        log.info(
            "handler failed; retry scheduled",
            queue=self.queue,
            attempt=inbound.attempt,
            outage_retries=decision.outage_retries,
            delay_seconds=decision.delay_seconds,
            error=f"{type(exc).__name__}: {exc}",
        )
        return True

    async def park(
        self,
        msg: DeliveredMessage,
        envelope: Envelope | None,
        fault: Fault,
        attempts: int,
        *,
        lane: str | None = None,
    ) -> bool:
        """Into the endpoint's parking lot; a replay goes back to `lane` (see retry)."""
        exchange, routing_key = origin(msg)
        now = datetime.now(UTC)
        headers = fault_headers(
            msg.header.properties.headers,
            reason=fault.reason,
            exc_type=fault.exc_type,
            exc_message=fault.message,
            stacktrace=fault.stacktrace,
            attempts=attempts,
            queue=lane or self.queue,
            service=self.service,
            host=self.host,
            original_exchange=exchange,
            original_routing_key=routing_key,
            now=now,
        )
        body = msg.body
        if len(body) > self.parked_body_max_bytes:
            # One tenant's oversized input must not fill the broker's disk with
            # copies: keep an excerpt and the size; the original is not replayable.
            headers[H_BODY_BYTES] = len(body)
            headers[H_BODY_TRUNCATED] = True
            body = body[: self.parked_body_max_bytes]
        try:
            await self.publisher.publish_raw(DLX, self.parking_key, _copy(msg, headers, body))
        except PublishError:
            log.error("could not park message; requeueing", queue=self.queue, exc_info=True)
            return False
        self.metrics.parked.inc()
        event = faulted_event(
            fault,
            envelope,
            msg.header.properties,
            headers,
            queue=self.queue,
            service=self.service,
            host=self.host,
            attempts=attempts,
            now=now,
        )
        log.warning(
            "message parked",
            queue=self.queue,
            reason=fault.reason.value,
            error_type=fault.exc_type,
            error=fault.message,
            message_id=event.message_id,
            task_id=event.task_id,
        )
        if event.faulted_type == MessageFaulted.message_type:
            return True  # a faulted event about a faulted event would loop
        try:
            await self.on_fault(event)
        except Exception:
            # The message itself is safe in the parking lot; only the alert is lost.
            log.exception("could not publish message faulted event", queue=self.queue)
        return True


def faulted_event(
    fault: Fault,
    envelope: Envelope | None,
    props: Any,
    headers: Mapping[str, Any],
    *,
    queue: str,
    service: str,
    host: str,
    attempts: int,
    now: datetime,
) -> MessageFaulted:
    """Built from the fault and the decoded envelope; what the envelope could not
    give (unreadable headers) is taken, defensively, from the AMQP properties."""
    raw = props.headers or {}
    first = _time(headers.get(H_FIRST_FAILURE)) or now
    return MessageFaulted(
        message_id=(envelope.id if envelope else _safe(props.message_id)) or "unknown",
        faulted_type=envelope.type if envelope else _safe(raw.get("cloudEvents:type")),
        queue=queue,
        service=service,
        host=host,
        exception_type=fault.exc_type,
        exception_message=fault.message[:2000],
        attempts=attempts,
        original_exchange=str(headers.get(H_ORIGINAL_EXCHANGE, "")),
        original_routing_key=str(headers.get(H_ORIGINAL_ROUTING_KEY, "")),
        first_failure_at=first,
        last_failure_at=now,
        reason=fault.reason.value,
        tenant_id=envelope.tenant_id if envelope else _safe(raw.get("cloudEvents:tenantid")),
        correlation_id=(
            envelope.correlation_id if envelope else _safe(raw.get("cloudEvents:correlationid"))
        ),
        task_id=envelope.task_id if envelope else _safe(raw.get("cloudEvents:taskid")),
    )


def origin(msg: DeliveredMessage) -> tuple[str, str]:
    headers = msg.header.properties.headers or {}
    delivery = msg.delivery
    exchange = _safe(headers.get(H_ORIGINAL_EXCHANGE)) or delivery.exchange or ""  # type: ignore[union-attr]
    routing_key = _safe(headers.get(H_ORIGINAL_ROUTING_KEY)) or delivery.routing_key or ""  # type: ignore[union-attr]
    return str(exchange), str(routing_key)


def _copy(msg: DeliveredMessage, headers: dict[str, Any], body: bytes) -> aio_pika.Message:
    props = msg.header.properties
    return aio_pika.Message(
        body,
        headers=headers,
        content_type=props.content_type,
        content_encoding=props.content_encoding,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        message_id=props.message_id,
        correlation_id=props.correlation_id,
        timestamp=props.timestamp,
        type=props.message_type,
        app_id=props.app_id,
    )


def _safe(value: Any) -> str | None:
    """A header as text, or None when it is absent or not readable text."""
    if value is None:
        return None
    if isinstance(value, bytes | bytearray):
        try:
            return value.decode("utf-8")[:256]
        except UnicodeDecodeError:
            return None
    return str(value)[:256]


def _time(value: Any) -> datetime | None:
    text = _safe(value)
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)

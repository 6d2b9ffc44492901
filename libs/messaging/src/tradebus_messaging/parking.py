"""Parking-lot operations: look at parked messages, send them back, or purge them."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any

import aio_pika
from aio_pika.abc import AbstractConnection, AbstractIncomingMessage

from .errors import BrokerUnavailable
from .failures import (
    H_ATTEMPT,
    H_BODY_TRUNCATED,
    H_EXCEPTION_MESSAGE,
    H_EXCEPTION_TYPE,
    H_FAULT_REASON,
    H_FIRST_FAILURE,
    H_LAST_FAILURE,
    H_ORIGINAL_QUEUE,
    FaultReason,
    replay_headers,
)
from .topology import RETRY, delay_routing_key, parking_queue


@dataclass(frozen=True, slots=True)
class ParkedMessage:
    message_id: str | None
    message_type: str | None
    queue: str
    reason: str
    exception_type: str
    exception_message: str
    attempts: int
    first_failure_at: str | None
    last_failure_at: str | None
    headers: dict[str, Any] = field(repr=False)
    body: bytes = field(repr=False)


def describe(msg: AbstractIncomingMessage, queue: str) -> ParkedMessage:
    headers: dict[str, Any] = dict(msg.headers or {})
    reason = _text(headers.get(H_FAULT_REASON))
    exc_type = _text(headers.get(H_EXCEPTION_TYPE))
    exc_message = _text(headers.get(H_EXCEPTION_MESSAGE))
    if reason is None:
        # Parked by the broker, not by us: the crash-loop guard or a rejection.
        deaths: list[dict[str, Any]] = headers.get("x-death") or [{}]
        death = deaths[0]
        broker_reason = _text(headers.get("x-first-death-reason") or death.get("reason"))
        reason = (
            FaultReason.DELIVERY_LIMIT.value
            if broker_reason == "delivery_limit"
            else f"broker:{broker_reason}"
        )
        exc_type = exc_type or "BrokerDeadLetter"
        exc_message = exc_message or f"dead-lettered by the broker ({broker_reason})"
    return ParkedMessage(
        message_id=msg.message_id,
        message_type=_text(headers.get("cloudEvents:type")) or msg.type,
        queue=_text(headers.get(H_ORIGINAL_QUEUE)) or queue,
        reason=reason,
        exception_type=exc_type or "unknown",
        exception_message=exc_message or "",
        attempts=int(headers.get(H_ATTEMPT, headers.get("x-delivery-count", 0)) or 0),
        first_failure_at=_text(headers.get(H_FIRST_FAILURE)),
        last_failure_at=_text(headers.get(H_LAST_FAILURE)),
        headers=headers,
        body=msg.body,
    )


def group_by_exception(parked: Iterable[ParkedMessage]) -> list[tuple[str, int]]:
    counts = Counter(p.exception_type for p in parked)
    return counts.most_common()


class ParkingLot:
    """Operations on `<queue>.dlq`, given the work queue's name."""

    def __init__(self, connection: AbstractConnection, *, levels: int) -> None:
        self._connection = connection
        self._levels = levels

    async def count(self, queue: str) -> int:
        async with self._channel() as channel:
            declared = await channel.declare_queue(parking_queue(queue), passive=True)
            return int(declared.declaration_result.message_count or 0)

    async def list(self, queue: str, *, limit: int = 100) -> list[ParkedMessage]:
        """Browse without removing: everything fetched is requeued when the
        channel closes, in its original order."""
        parked: list[ParkedMessage] = []
        async with self._channel() as channel:
            dlq = await channel.declare_queue(parking_queue(queue), passive=True)
            while len(parked) < limit:
                msg = await dlq.get(no_ack=False, fail=False)
                if msg is None:
                    break
                parked.append(describe(msg, queue))
        return parked

    async def replay(
        self,
        queue: str,
        *,
        message_ids: set[str] | None = None,
        limit: int | None = None,
        reason: str | None = None,
    ) -> int:
        """Send parked messages back to their queue with attempts reset (only those
        with one of `message_ids`, or parked for `reason`, when given).
        Each is removed from the parking lot only after the broker confirmed
        its copy, so a failure midway duplicates nothing and loses nothing."""
        replayed = 0
        async with self._channel(confirms=True) as channel:
            dlq = await channel.declare_queue(parking_queue(queue), passive=True)
            retry = await channel.get_exchange(RETRY, ensure=False)
            total = int(dlq.declaration_result.message_count or 0)
            for _ in range(total):
                if limit is not None and replayed >= limit:
                    break
                msg = await dlq.get(no_ack=False, fail=False)
                if msg is None:
                    break
                if not _selected(msg, queue, message_ids, reason):
                    continue  # left unacked: requeued when the channel closes
                if (msg.headers or {}).get(H_BODY_TRUNCATED):
                    continue  # only a bounded excerpt was kept: nothing to replay

                target = _text((msg.headers or {}).get(H_ORIGINAL_QUEUE)) or queue
                copy = aio_pika.Message(
                    msg.body,
                    headers=replay_headers(msg.headers),
                    content_type=msg.content_type,
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    message_id=msg.message_id,
                    correlation_id=msg.correlation_id,
                    timestamp=msg.timestamp,
                    type=msg.type,
                )
                await retry.publish(
                    copy, routing_key=delay_routing_key(0, target, self._levels), mandatory=True
                )
                await msg.ack()
                replayed += 1
        return replayed

    async def purge(
        self, queue: str, *, message_ids: set[str] | None = None, reason: str | None = None
    ) -> int:
        """Delete parked messages for good: all of them, or only those with one of
        `message_ids` or parked for `reason`."""
        async with self._channel() as channel:
            dlq = await channel.declare_queue(parking_queue(queue), passive=True)
            if message_ids is None and reason is None:
                result = await dlq.purge()
                return int(result.message_count or 0)
            purged = 0
            for _ in range(int(dlq.declaration_result.message_count or 0)):
                msg = await dlq.get(no_ack=False, fail=False)
                if msg is None:
                    break
                if _selected(msg, queue, message_ids, reason):
                    await msg.ack()
                    purged += 1
            return purged  # the rest, unacked, return to the lot when the channel closes

    @contextlib.asynccontextmanager
    async def _channel(self, *, confirms: bool = False) -> Any:
        channel = await self._connection.channel(
            publisher_confirms=confirms, on_return_raises=confirms
        )
        try:
            yield channel
        finally:
            if not channel.is_closed:
                await channel.close()


class UnknownParkingLot(LookupError):
    """The parking lot (or its work queue's lot) does not exist on the broker."""


@contextlib.asynccontextmanager
async def connected_lot(
    url: str, *, levels: int, timeout: float = 5.0
) -> AsyncIterator[ParkingLot]:
    """A `ParkingLot` on a connection of its own, closed afterwards, for callers that
    operate on lots now and then (the gateway's operator routes). BrokerUnavailable
    when the broker cannot be reached; UnknownParkingLot for a lot that is not there."""
    try:
        connection = await aio_pika.connect(url, timeout=timeout)
    except (OSError, TimeoutError, aio_pika.exceptions.AMQPError) as exc:
        raise BrokerUnavailable(f"cannot reach RabbitMQ: {exc!r}") from exc
    async with connection:
        try:
            yield ParkingLot(connection, levels=levels)
        except aio_pika.exceptions.ChannelNotFoundEntity as exc:
            raise UnknownParkingLot(str(exc)) from exc


def _selected(
    msg: AbstractIncomingMessage, queue: str, message_ids: set[str] | None, reason: str | None
) -> bool:
    if message_ids is not None and msg.message_id not in message_ids:
        return False
    return reason is None or describe(msg, queue).reason == reason


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)

"""One consumer endpoint: decode, dispatch, then ack, retry or park.

The hot path talks to the aiormq channel underneath aio-pika directly: no
per-message wrapper objects, acks coalesced with `multiple=True`. Every outcome
ends with the original delivery acknowledged only after its effects are durable:
the handler returned, or its retry/parked copy was confirmed by the broker.
"""

from __future__ import annotations

import asyncio
import contextlib
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from time import perf_counter
from typing import Any

import aio_pika
import aiormq
import structlog
from aio_pika.abc import AbstractChannel, AbstractConnection
from aiormq.abc import DeliveredMessage
from pydantic import ValidationError

from tradebus_contracts import Contract, Envelope, InvalidEnvelope
from tradebus_observability import CURRENT_MESSAGE

from .acks import AckTracker
from .context import Handler, MessageContext
from .errors import PermanentError, PublishError
from .failures import (
    H_DEADLINE,
    FaultReason,
    RetryPolicy,
    attempt_of,
    exception_type_name,
    fault_headers,
    retry_headers,
)
from .inbox import Inbox, is_duplicate
from .metrics import QueueMetrics
from .publisher import Publisher
from .topology import DLX, RETRY, QueueType, delay_routing_key

log = structlog.get_logger("tradebus.consumer")

Replier = Callable[[DeliveredMessage, Envelope, Any, BaseException | None], Any]


@dataclass(slots=True)
class Endpoint:
    queue: str
    exchange: str
    models: dict[str, type[Contract]]
    handler: Handler
    prefetch: int
    concurrency: int
    use_inbox: bool = False
    queue_type: QueueType = "quorum"
    rpc: bool = False
    # extra routing keys to bind (e.g. an event pattern) beyond the model types
    bind_keys: tuple[str, ...] = field(default=())
    # per-replica queues: deleted after this long without a consumer (x-expires)
    expires_ms: int | None = None
    # the endpoint whose parking lot takes this queue's failures (default: its own)
    parking: str | None = None

    @property
    def routing_keys(self) -> tuple[str, ...]:
        return self.bind_keys or tuple(self.models)

    @property
    def parking_key(self) -> str:
        return self.parking or self.queue


@dataclass(slots=True)
class _Fault:
    reason: FaultReason
    exc_type: str
    message: str
    stacktrace: str | None = None


class Consumer:
    def __init__(
        self,
        endpoint: Endpoint,
        *,
        publisher: Publisher,
        policy: RetryPolicy,
        levels: int,
        service: str,
        host: str,
        max_body_bytes: int,
        inbox: Inbox | None,
        publish_follow_up: Any,
        on_fault: Callable[[dict[str, Any], _Fault], Any],
        replier: Replier | None = None,
    ) -> None:
        if endpoint.use_inbox and inbox is None:
            raise ValueError(f"{endpoint.queue} wants the inbox but the bus has none")
        self.endpoint = endpoint
        self._publisher = publisher
        self._policy = policy
        self._levels = levels
        self._service = service
        self._host = host
        self._max_body = max_body_bytes
        self._inbox = inbox
        self._publish_follow_up = publish_follow_up
        self._on_fault = on_fault
        self._replier = replier
        self._metrics = QueueMetrics(endpoint.queue)
        # prefetch already bounds what runs when it is not above the concurrency.
        self._sem = (
            asyncio.Semaphore(endpoint.concurrency)
            if endpoint.concurrency < endpoint.prefetch
            else None
        )
        self._channel: AbstractChannel | None = None
        self._raw: aiormq.abc.AbstractChannel | None = None
        self._tag: str | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._acks = AckTracker()
        self._metrics.in_flight.set_function(lambda: len(self._tasks))
        self._idle = asyncio.Event()
        self._idle.set()
        self._wake_acker = asyncio.Event()
        self._acker_task: asyncio.Task[None] | None = None
        self._batch = max(1, endpoint.prefetch // 4)

    # -- lifecycle ---------------------------------------------------------

    @property
    def alive(self) -> bool:
        raw = self._raw
        return raw is not None and not raw.is_closed and self._tag is not None

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    async def start(self, connection: AbstractConnection) -> None:
        self._channel = await connection.channel(publisher_confirms=False)
        await self._channel.set_qos(prefetch_count=self.endpoint.prefetch)
        raw = await self._channel.get_underlay_channel()
        self._raw = raw
        self._acks = AckTracker()
        self._acker_task = asyncio.create_task(self._acker(raw, self._acks))
        raw.on_consumer_cancel_callbacks.add(self._on_cancel)
        ok = await raw.basic_consume(self.endpoint.queue, self._on_message, no_ack=False)
        self._tag = ok.consumer_tag
        self._metrics.up.set(1)
        log.info(
            "consuming",
            queue=self.endpoint.queue,
            prefetch=self.endpoint.prefetch,
            concurrency=self.endpoint.concurrency,
        )

    def _on_cancel(self, frame: Any) -> None:
        # The broker cancelled us (queue deleted, node shutdown): readiness must drop.
        self._tag = None
        self._metrics.up.set(0)
        log.warning("consumer cancelled by broker", queue=self.endpoint.queue)

    def detach(self) -> None:
        """The connection is gone: unacked deliveries are back in the queue."""
        self._tag = None
        self._raw = None
        self._channel = None
        self._metrics.up.set(0)
        if self._acker_task is not None:
            self._acker_task.cancel()
            self._acker_task = None

    async def stop(self, grace: float) -> None:
        """Stop taking messages, let in-flight handlers finish within `grace`
        seconds, ack what finished, and leave the rest to be redelivered."""
        raw, tag = self._raw, self._tag
        self._tag = None
        self._metrics.up.set(0)
        if raw is not None and tag is not None and not raw.is_closed:
            try:
                await raw.basic_cancel(tag)
            except Exception:  # the channel may be dying; deliveries requeue anyway
                log.debug("basic_cancel failed", exc_info=True)
        if self._tasks:
            try:
                await asyncio.wait_for(self._idle.wait(), timeout=grace)
            except TimeoutError:
                log.warning(
                    "shutdown grace expired; unfinished messages will be redelivered",
                    queue=self.endpoint.queue,
                    unfinished=len(self._tasks),
                )
                for task in list(self._tasks):
                    task.cancel()
                await asyncio.gather(*self._tasks, return_exceptions=True)
        if raw is not None and not raw.is_closed:
            await self._flush(raw, self._acks, unblock=True, drain=True)
        if self._acker_task is not None:
            self._acker_task.cancel()
            self._acker_task = None
        if self._channel is not None and not self._channel.is_closed:
            await self._channel.close()
        self._raw = None
        self._channel = None

    # -- hot path ----------------------------------------------------------

    async def _on_message(self, msg: DeliveredMessage) -> None:
        raw = msg.channel
        acks = self._acks
        tag: int = msg.delivery.delivery_tag  # type: ignore[union-attr,assignment]
        acks.delivered(tag)
        self._metrics.consumed.inc()
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._idle.clear()
        try:
            try:
                if self._sem is None:
                    settled = await self._process(msg)
                else:
                    async with self._sem:
                        settled = await self._process(msg)
            except Exception:
                # A bug in the runtime itself: requeue, and let x-delivery-limit
                # park the message if it keeps happening, rather than stall a slot.
                log.exception("unexpected error while processing", queue=self.endpoint.queue)
                settled = False
            if raw is self._raw and not raw.is_closed:  # else: redelivered on the new channel
                await self._settle(raw, acks, tag, settled)
        except asyncio.CancelledError:
            return  # shutdown: not acked, the broker redelivers it
        finally:
            # Only now is the delivery done: stop() waits for this before its final flush.
            self._tasks.discard(task)
            if not self._tasks:
                self._idle.set()

    async def _settle(
        self, raw: aiormq.abc.AbstractChannel, acks: AckTracker, tag: int, ok: bool
    ) -> None:
        if ok:
            self._metrics.acked.inc()
            acks.settle(tag)
            if acks.pending >= self._batch:
                await self._flush(raw, acks)
            else:
                # Ack on the acker's next turn: every delivery already read in
                # this loop iteration settles first, and one frame covers them.
                self._wake_acker.set()
        else:
            self._metrics.requeued.inc()
            acks.forget(tag)
            with contextlib.suppress(aiormq.exceptions.ChannelInvalidStateError):
                await raw.basic_nack(tag, requeue=True, wait=False)

    async def _acker(self, raw: aiormq.abc.AbstractChannel, acks: AckTracker) -> None:
        wake = self._wake_acker
        while not raw.is_closed:
            await wake.wait()
            wake.clear()
            await self._flush(raw, acks)
            if acks.pending and not wake.is_set():
                # A slow message at the head holds the run: give it a moment,
                # then ack the finished ones behind it individually.
                await asyncio.sleep(0.05)
                await self._flush(raw, acks, unblock=True)

    async def _flush(
        self,
        raw: aiormq.abc.AbstractChannel,
        acks: AckTracker,
        *,
        unblock: bool = False,
        drain: bool = False,
    ) -> None:
        """Send the acks that are due. `drain` waits until they reached the
        socket: needed right before closing the channel, which drops queued frames."""
        if raw.is_closed:
            return
        upto = acks.advance()
        try:
            if upto is not None:
                await raw.basic_ack(upto, multiple=True, wait=drain)
            if unblock and acks.pending:
                for single in acks.take_blocked():
                    await raw.basic_ack(single, wait=drain)
        except aiormq.exceptions.ChannelInvalidStateError:
            pass  # closed under us: the broker requeues whatever was unacked

    async def _process(self, msg: DeliveredMessage) -> bool:
        """Handle one delivery. True: ack it. False: requeue it (we could not
        make its retry or parked copy durable)."""
        props = msg.header.properties
        headers = props.headers or {}
        body = msg.body
        if len(body) > self._max_body:
            return await self._park(
                msg,
                None,
                _Fault(
                    FaultReason.MALFORMED,
                    "BodyTooLarge",
                    f"body of {len(body)} bytes exceeds the {self._max_body}-byte limit",
                ),
            )
        try:
            envelope = Envelope.from_headers(headers)
        except InvalidEnvelope as exc:
            return await self._park(
                msg, None, _Fault(FaultReason.MALFORMED, exception_type_name(exc), str(exc))
            )
        model = self.endpoint.models.get(envelope.type)
        if model is None:
            return await self._park(
                msg,
                envelope,
                _Fault(
                    FaultReason.UNKNOWN_TYPE,
                    "UnknownMessageType",
                    f"{self.endpoint.queue} does not handle {envelope.type!r}",
                ),
            )
        try:
            payload = model.model_validate_json(body)
        except ValidationError as exc:
            return await self._park(
                msg, envelope, _Fault(FaultReason.MALFORMED, "ValidationError", _summarise(exc))
            )

        attempt = attempt_of(headers)
        deadline = _deadline(headers)
        if deadline is not None and datetime.now(UTC) >= deadline:
            log.info("dropping expired request", queue=self.endpoint.queue, message_id=envelope.id)
            self._metrics.expired.inc()
            return True
        CURRENT_MESSAGE.set(envelope)  # log lines carry the message's ids
        ctx = MessageContext(
            envelope=envelope,
            queue=self.endpoint.queue,
            attempt=attempt,
            redelivered=bool(msg.delivery.redelivered),  # type: ignore[union-attr]
            deadline=deadline,
            session=None,
            _publish=self._publish_follow_up,
        )
        started = perf_counter()
        try:
            if self.endpoint.use_inbox:
                result = await self._run_once(payload, ctx)
            else:
                result = await self.endpoint.handler(payload, ctx)
        except Exception as exc:
            if self._replier is not None:
                await self._replier(msg, envelope, None, exc)
                return True
            return await self._failed(msg, envelope, attempt, exc)
        finally:
            # (each delivery runs in its own task, so the bound context dies with it)
            self._metrics.handler.observe(perf_counter() - started)
        if self._replier is not None:
            await self._replier(msg, envelope, result, None)
        return True

    async def _run_once(self, payload: Contract, ctx: MessageContext) -> Any:
        inbox = self._inbox
        assert inbox is not None
        consumer, message_id = self.endpoint.queue, ctx.envelope.id
        if await inbox.seen(consumer, message_id):
            self._metrics.duplicate.inc()
            return None
        try:
            async with inbox.transaction() as session:
                ctx.session = session
                result = await self.endpoint.handler(payload, ctx)
                await inbox.record(consumer, message_id, session=session)
        except Exception as exc:
            if is_duplicate(exc):  # a concurrent redelivery won the race
                self._metrics.duplicate.inc()
                return None
            raise
        return result

    # -- failure paths -----------------------------------------------------

    async def _failed(
        self, msg: DeliveredMessage, envelope: Envelope, attempt: int, exc: Exception
    ) -> bool:
        if isinstance(exc, PermanentError):
            return await self._park(
                msg,
                envelope,
                _Fault(
                    FaultReason.PERMANENT,
                    exception_type_name(exc),
                    str(exc),
                    traceback.format_exc(),
                ),
                attempt=attempt,
            )
        if self._policy.exhausted(attempt):
            return await self._park(
                msg,
                envelope,
                _Fault(
                    FaultReason.RETRIES_EXHAUSTED,
                    exception_type_name(exc),
                    str(exc),
                    traceback.format_exc(),
                ),
                attempt=attempt,
            )
        delay = self._policy.backoff(attempt)
        exchange, routing_key = _origin(msg)
        headers = retry_headers(
            msg.header.properties.headers,
            next_attempt=attempt + 1,
            original_exchange=exchange,
            original_routing_key=routing_key,
            now=datetime.now(UTC),
            exc=exc,
        )
        try:
            await self._publisher.publish_raw(
                RETRY,
                delay_routing_key(delay, self.endpoint.queue, self._levels),
                _copy(msg, headers),
            )
        except PublishError:
            log.warning(
                "could not schedule retry; requeueing", queue=self.endpoint.queue, exc_info=True
            )
            return False
        self._metrics.retried.inc()
        log.info(
            "handler failed; retry scheduled",
            queue=self.endpoint.queue,
            attempt=attempt,
            delay_seconds=delay,
            error=f"{type(exc).__name__}: {exc}",
        )
        return True

    async def _park(
        self,
        msg: DeliveredMessage,
        envelope: Envelope | None,
        fault: _Fault,
        *,
        attempt: int | None = None,
    ) -> bool:
        exchange, routing_key = _origin(msg)
        attempts = attempt if attempt is not None else attempt_of(msg.header.properties.headers)
        headers = fault_headers(
            msg.header.properties.headers,
            reason=fault.reason,
            exc_type=fault.exc_type,
            exc_message=fault.message,
            stacktrace=fault.stacktrace,
            attempts=attempts,
            queue=self.endpoint.queue,
            service=self._service,
            host=self._host,
            original_exchange=exchange,
            original_routing_key=routing_key,
            now=datetime.now(UTC),
        )
        try:
            await self._publisher.publish_raw(DLX, self.endpoint.parking_key, _copy(msg, headers))
        except PublishError:
            log.error(
                "could not park message; requeueing", queue=self.endpoint.queue, exc_info=True
            )
            return False
        self._metrics.parked.inc()
        log.warning(
            "message parked",
            queue=self.endpoint.queue,
            reason=fault.reason.value,
            error_type=fault.exc_type,
            error=fault.message,
            message_id=envelope.id if envelope else msg.header.properties.message_id,
        )
        await self._on_fault(headers, fault)
        return True


def _origin(msg: DeliveredMessage) -> tuple[str, str]:
    from .failures import H_ORIGINAL_EXCHANGE, H_ORIGINAL_ROUTING_KEY

    headers = msg.header.properties.headers or {}
    delivery = msg.delivery
    exchange = headers.get(H_ORIGINAL_EXCHANGE) or delivery.exchange or ""  # type: ignore[union-attr]
    routing_key = headers.get(H_ORIGINAL_ROUTING_KEY) or delivery.routing_key or ""  # type: ignore[union-attr]
    return str(exchange), str(routing_key)


def _copy(msg: DeliveredMessage, headers: dict[str, Any]) -> aio_pika.Message:
    props = msg.header.properties
    return aio_pika.Message(
        msg.body,
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


def _deadline(headers: dict[str, Any]) -> datetime | None:
    raw = headers.get(H_DEADLINE)
    if raw is None:
        return None
    try:
        return datetime.fromtimestamp(float(raw), UTC)
    except (TypeError, ValueError):
        return None


def _summarise(exc: ValidationError) -> str:
    parts = [
        f"{'.'.join(str(p) for p in err['loc']) or '(body)'}: {err['msg']}"
        for err in exc.errors()[:5]
    ]
    more = exc.error_count() - len(parts)
    return "; ".join(parts) + (f" (+{more} more)" if more > 0 else "")

"""One consumer endpoint: its channel, its deliveries in flight, their settlement.

Each delivery runs through the pipeline (pipeline.py: decode -> deadline ->
dispatch -> retry or parked copy), which says ack or requeue; the settler sends
that, in decision order, on the channel it came from.

The consumer supervises its own channel: a broker cancel (queue deleted, a
consumer timeout) or a channel-level close (a 406) re-establishes it with
backoff, re-declaring its queue, while the connection lives; readiness is false
and, past a bound, liveness too while it is missing.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from aio_pika.abc import AbstractChannel, AbstractConnection
from aiormq.abc import DeliveredMessage

from .backoff import jittered_backoff
from .consumer_tags import consumer_tags, lane_of
from .endpoint import Endpoint
from .metrics import QueueMetrics
from .pipeline import Pipeline
from .settle import Settler

log = structlog.get_logger("tradebus.consumer")

Prepare = Callable[[AbstractChannel], Awaitable[None]]

_REOPEN_MAX_SECONDS = 30.0


class Consumer:
    def __init__(
        self,
        endpoint: Endpoint,
        *,
        pipeline: Pipeline,
        prepare: Prepare,
        metrics: QueueMetrics,
    ) -> None:
        self.endpoint = endpoint
        self._pipeline = pipeline
        # Re-declares the endpoint's queues on a fresh channel, before every (re)start.
        self._prepare = prepare
        self._metrics = metrics
        # prefetch already bounds what runs when it is not above the concurrency.
        self._sem = (
            asyncio.Semaphore(endpoint.concurrency)
            if endpoint.concurrency < endpoint.max_in_flight
            else None
        )
        self._connection: AbstractConnection | None = None
        self._channel: AbstractChannel | None = None
        self._settler: Settler | None = None
        # consumer tag -> queue it consumes; a fair endpoint consumes each of its lanes
        self._tags: dict[str, str] = {}
        self._reopen: asyncio.Task[None] | None = None
        self._closing: asyncio.Future[Any] | None = None
        self._stopping = False
        self._missing_since: float | None = time.monotonic()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._metrics.in_flight.set_function(lambda: len(self._tasks))
        self._idle = asyncio.Event()
        self._idle.set()

    # -- state -------------------------------------------------------------

    @property
    def alive(self) -> bool:
        settler = self._settler
        return settler is not None and not settler.channel.is_closed and bool(self._tags)

    def missing_for(self) -> float:
        """Seconds this consumer has been missing (0 while it consumes)."""
        since = self._missing_since
        return 0.0 if since is None or self.alive else time.monotonic() - since

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    # -- channel supervision -----------------------------------------------

    async def start(self, connection: AbstractConnection) -> None:
        self._connection = connection
        self._stopping = False
        await self._open(connection)

    async def _open(self, connection: AbstractConnection) -> None:
        channel = await connection.channel(publisher_confirms=False)
        try:
            await self._prepare(channel)
            # Per consumer: each lane of a fair endpoint holds at most its share.
            await channel.set_qos(prefetch_count=self.endpoint.consumer_prefetch)
            raw = await channel.get_underlay_channel()
            # In place before basic.consume: deliveries may run before it returns.
            self._channel, self._settler = channel, Settler(raw)
            raw.on_consumer_cancel_callbacks.add(self._on_cancel)
            channel.close_callbacks.add(self._on_channel_closed)
            tags = consumer_tags(self.endpoint)
            for tag, queue in tags.items():
                await raw.basic_consume(queue, self._on_message, no_ack=False, consumer_tag=tag)
        except BaseException:
            settler, self._settler = self._settler, None
            if settler is not None:
                settler.abandon()
            with contextlib.suppress(Exception):
                await channel.close()
            raise
        self._tags = tags
        self._missing_since = None
        self._metrics.up.set(1)
        log.info(
            "consuming",
            queue=self.endpoint.queue,
            prefetch=self.endpoint.consumer_prefetch,
            queues=len(tags),
            concurrency=self.endpoint.concurrency,
        )

    def _on_cancel(self, frame: Any) -> None:
        log.warning("consumer cancelled by broker", queue=self.endpoint.queue)
        self._lost()
        # The channel itself is fine but we start over on a fresh one: its unacked
        # deliveries are requeued and the queue is re-declared.
        channel = self._channel
        if channel is not None and not channel.is_closed:
            self._closing = asyncio.ensure_future(channel.close())

    def _on_channel_closed(self, channel: Any, exc: BaseException | None = None) -> None:
        if channel is not self._channel:
            return
        if self._tags or self._settler is not None:
            log.warning("consumer channel closed", queue=self.endpoint.queue, error=repr(exc))
        self._lost()

    def _lost(self) -> None:
        self._tags = {}
        self._metrics.up.set(0)
        if self._missing_since is None:
            self._missing_since = time.monotonic()
        settler, self._settler = self._settler, None
        if settler is not None:
            settler.abandon()
        connection = self._connection
        if self._stopping or connection is None or connection.is_closed:
            return  # the bus supervisor re-establishes everything after a reconnect
        if self._reopen is None or self._reopen.done():
            self._reopen = asyncio.get_running_loop().create_task(self._reopen_loop(connection))

    async def _reopen_loop(self, connection: AbstractConnection) -> None:
        failures = 0
        while not self._stopping and not connection.is_closed and not self.alive:
            await asyncio.sleep(jittered_backoff(failures, _REOPEN_MAX_SECONDS))
            if self._stopping or connection.is_closed:
                return
            try:
                await self._open(connection)
                log.info("consumer re-established", queue=self.endpoint.queue, after=failures)
                return
            except Exception as exc:
                failures += 1
                log.warning(
                    "could not re-establish consumer",
                    queue=self.endpoint.queue,
                    attempt=failures,
                    error=repr(exc),
                )

    def detach(self) -> None:
        """The connection is gone: unacked deliveries are back in the queue."""
        self._connection = None
        self._lost()
        self._channel = None
        if self._reopen is not None:
            self._reopen.cancel()
            self._reopen = None

    async def stop(self, grace: float) -> None:
        """Stop taking messages, let in-flight handlers finish within `grace`
        seconds, ack what finished, and leave the rest to be redelivered."""
        self._stopping = True
        if self._reopen is not None:
            self._reopen.cancel()
        channel, settler, tags = self._channel, self._settler, self._tags
        self._tags = {}
        self._metrics.up.set(0)
        for tag in tags:
            if settler is None or settler.channel.is_closed:
                break
            try:
                await settler.channel.basic_cancel(tag)
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
        if settler is not None:
            await settler.close()
        self._settler = None
        if channel is not None and not channel.is_closed:
            with contextlib.suppress(Exception):
                await channel.close()
        self._channel = None

    # -- deliveries ----------------------------------------------------------

    async def _on_message(self, msg: DeliveredMessage) -> None:
        settler = self._settler
        if settler is None or msg.channel is not settler.channel:
            return  # a straggler of a closed channel: the broker redelivers it
        tag: int = msg.delivery.delivery_tag  # type: ignore[union-attr,assignment]
        settler.delivered(tag)
        self._metrics.consumed.inc()
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._idle.clear()
        try:
            try:
                lane = lane_of(msg, self.endpoint)
                if self._sem is None:
                    ok = await self._pipeline.process(msg, lane)
                else:
                    async with self._sem:
                        ok = await self._pipeline.process(msg, lane)
            except Exception:
                # A bug in the runtime itself: requeue, and let the redelivery guard
                # park the message if it keeps happening, rather than stall a slot.
                log.exception("unexpected error while processing", queue=self.endpoint.queue)
                ok = False
            if settler is self._settler:  # else: redelivered on the new channel
                if ok:
                    self._metrics.acked.inc()
                    settler.ack(tag)
                else:
                    self._metrics.requeued.inc()
                    settler.nack(tag, requeue=True)
        except asyncio.CancelledError:
            return  # shutdown: not acked, the broker redelivers it
        finally:
            # Only now is the delivery done: stop() waits for this before its final flush.
            self._tasks.discard(task)
            if not self._tasks:
                self._idle.set()

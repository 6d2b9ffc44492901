"""Last step of the pipeline: acknowledgements, in the order they were decided.

aiormq writes frames through one bounded queue per connection; two coroutines
that each `basic_ack`/`basic_nack` can reach the socket in either order once that
queue is full (a blocked connection, a slow network). Then an
`ack(multiple=True)` may cover a tag whose requeue was decided first, or a tag is
settled twice and the broker closes the channel (406). So one writer task per
channel sends every settlement frame, strictly in decision order; acks are
coalesced (`AckTracker`), and a nack is only sent, and its tag only dropped from
the tracker, in its turn.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque

import aiormq
import structlog

from .acks import AckTracker

log = structlog.get_logger("tradebus.settle")

_HEAD_WAIT = 0.05  # how long a slow head may hold finished acks behind it


class Settler:
    def __init__(self, raw: aiormq.abc.AbstractChannel) -> None:
        self._raw = raw
        self._acks = AckTracker()
        # Nacks wait here for their turn. Their tags stay outstanding in the tracker
        # until sent, so no multiple-ack can cover them first.
        self._nacks: deque[tuple[int, bool]] = deque()
        self._wake = asyncio.Event()
        self._closing = False
        self._writer = asyncio.create_task(self._run(), name="tradebus-settler")

    @property
    def channel(self) -> aiormq.abc.AbstractChannel:
        return self._raw

    def delivered(self, tag: int) -> None:
        self._acks.delivered(tag)

    def ack(self, tag: int) -> None:
        # Sent on the writer's next turn: every delivery already read in this loop
        # iteration settles first, and one frame covers them.
        self._acks.settle(tag)
        self._wake.set()

    def nack(self, tag: int, *, requeue: bool = True) -> None:
        self._nacks.append((tag, requeue))
        self._wake.set()

    async def _run(self) -> None:
        raw = self._raw
        try:
            while not raw.is_closed:
                await self._wake.wait()
                self._wake.clear()
                if self._closing:
                    await self._drain(wait=True)
                    await self._flush(unblock=True, wait=True)
                    return
                await self._drain(wait=False)
                if self._acks.pending and not self._wake.is_set():
                    # A slow message at the head holds the run: give it a moment,
                    # then ack the finished ones behind it individually.
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), _HEAD_WAIT)
                    if not self._wake.is_set():
                        await self._flush(unblock=True, wait=False)
        except aiormq.exceptions.ChannelInvalidStateError:
            pass  # closed under us: the broker requeues whatever was unacked
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("settlement writer failed; the channel's deliveries will requeue")

    async def _drain(self, *, wait: bool) -> None:
        raw, nacks = self._raw, self._nacks
        while nacks:
            tag, requeue = nacks.popleft()
            self._acks.forget(tag)
            await raw.basic_nack(tag, requeue=requeue, wait=wait)
        await self._flush(unblock=False, wait=wait)

    async def _flush(self, *, unblock: bool, wait: bool) -> None:
        upto = self._acks.advance()
        if upto is not None:
            await self._raw.basic_ack(upto, multiple=True, wait=wait)
        if unblock:
            for single in self._acks.take_blocked():
                await self._raw.basic_ack(single, wait=wait)

    async def close(self, timeout: float = 5.0) -> None:
        """Send everything decided and wait until it reached the socket: closing the
        channel right after drops frames still queued. The writer does it, in order."""
        self._closing = True
        self._wake.set()
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(asyncio.shield(self._writer), timeout)
        self._writer.cancel()

    def abandon(self) -> None:
        """The channel is gone: its deliveries are back in the queue."""
        self._writer.cancel()

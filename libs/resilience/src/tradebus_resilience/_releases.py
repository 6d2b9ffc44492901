"""In-flight slots given back but not yet removed from Redis. Giving one back costs the
caller nothing: its removal rides along with this replica's next take of the same budget
(the script removes it first, so a replica never refuses itself a slot it has already
given back), and what no take carried within `delay` leaves in one pipeline, so other
replicas see the slot free a few milliseconds later at most. A replica that dies with
removals unsent leaks nothing: every slot's hold ends by itself."""

from __future__ import annotations

import asyncio
import contextlib
import itertools

import structlog
from redis.asyncio import Redis

log = structlog.get_logger(__name__)

RIDE_ALONG = 64  # released tokens sent with one take, at most


class PendingReleases:
    def __init__(self, redis: Redis, *, delay: float = 0.005) -> None:
        self._redis = redis
        self._delay = delay
        self._held: dict[str, set[str]] = {}  # key -> tokens Redis may still hold
        self._timer: asyncio.TimerHandle | None = None
        self._flusher: asyncio.Task[None] | None = None

    def add(self, key: str, token: str) -> None:
        self._held.setdefault(key, set()).add(token)
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._delay, self._start_flush)

    def riding(self, key: str) -> list[str]:
        """Tokens of `key` to remove with the next take of it."""
        held = self._held.get(key)
        return list(itertools.islice(held, RIDE_ALONG)) if held else []

    def removed(self, key: str, tokens: list[str]) -> None:
        """Redis has confirmed the removal of `tokens` (a take carried them)."""
        held = self._held.get(key)
        if held is not None and tokens:
            held.difference_update(tokens)
            if not held:
                del self._held[key]

    def __len__(self) -> int:
        return sum(len(tokens) for tokens in self._held.values())

    async def drain(self) -> None:
        """Send what is pending and wait for it (at shutdown, before the client closes)."""
        if self._flusher is not None and not self._flusher.done():
            with contextlib.suppress(Exception):
                await self._flusher
        if self._held:
            await self._flush()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _start_flush(self) -> None:
        self._timer = None
        if self._flusher is not None and not self._flusher.done():
            return  # the running flush schedules the next one
        self._flusher = asyncio.get_running_loop().create_task(self._flush())

    async def _flush(self) -> None:
        batch = {key: list(tokens) for key, tokens in self._held.items()}
        try:
            pipe = self._redis.pipeline(transaction=False)
            for key, tokens in batch.items():
                pipe.zrem(key, *tokens)
            await pipe.execute()
        except Exception as exc:  # they expire at the end of their holds instead
            count = sum(len(tokens) for tokens in batch.values())
            log.warning("in-flight slots not released; they expire", slots=count, error=str(exc))
        finally:
            for key, tokens in batch.items():
                self.removed(key, tokens)
        if self._held and self._timer is None:  # given back while this one was sent
            self._timer = asyncio.get_running_loop().call_later(self._delay, self._start_flush)

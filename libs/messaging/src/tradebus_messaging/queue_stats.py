"""Queue depth, consumers and oldest-message age, sampled from the broker.

One process samples (`QueueStatsSampler.run` behind a lease, so replicas do not all
poll) on an interval with a single management API call for the whole vhost; nothing is
counted per message. `latest` keeps the last sample for in-process readers (alert
rules, admission) and the Prometheus gauges in `metrics` are set from it.

Oldest-message age: the broker reports `head_message_timestamp` for classic queues
(our publisher stamps every message), not for quorum queues, and peeking a quorum queue
with basic.get would redeliver it. For those, `AgeEstimator` bounds the age from the
queue's own counters: the messages ready at a sample are all delivered once the
cumulative delivery count has grown by that many (the queue is FIFO), so the oldest
ready message is at least as old as the earliest sample whose backlog is not yet
delivered. The estimate is a lower bound, accurate to one interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol
from urllib.parse import quote, unquote, urlsplit

import httpx
import structlog
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from .metrics import (
    ENDPOINT_DEPTH,
    QUEUE_CONSUMERS,
    QUEUE_DEPTH,
    QUEUE_OLDEST_AGE,
    QUEUE_STATS_SUCCESS,
    QUEUE_UNACKED,
)
from .queue_groups import by_endpoint

log = structlog.get_logger("tradebus.queue_stats")

LEASE = "queue-stats"
COLUMNS = (
    "name,type,arguments,messages_ready,messages_unacknowledged,consumers,"
    "head_message_timestamp,message_stats"
)
MAX_MARKS = 512

Fetch = Callable[[], Awaitable[list[dict[str, Any]]]]


class QueueStatsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TRADEBUS_QUEUE_STATS_", extra="ignore")

    enabled: bool = True
    interval_seconds: float = Field(default=15.0, gt=0)
    timeout_seconds: float = Field(default=5.0, gt=0)


@dataclass(frozen=True, slots=True)
class QueueStats:
    name: str
    ready: int
    unacked: int
    consumers: int
    oldest_age_seconds: float


class Leases(Protocol):
    """`tradebus_storage.LeaseRepository` fits; messaging does not import storage."""

    async def acquire(self, name: str, holder: str, ttl: Any) -> bool: ...

    async def release(self, name: str, holder: str) -> None: ...


@dataclass(slots=True)
class _Track:
    delivered: int = 0
    # (sample time, delivery count at which that sample's backlog is all delivered)
    marks: deque[tuple[float, int]] = field(default_factory=deque)


class AgeEstimator:
    """Lower bound of the oldest ready message's age from ready + delivery counters."""

    def __init__(self) -> None:
        self._tracks: dict[str, _Track] = {}

    def observe(self, queue: str, *, now: float, ready: int, delivered: int) -> float:
        track = self._tracks.setdefault(queue, _Track(delivered=delivered))
        if delivered < track.delivered:  # the broker's counters restarted
            track.marks.clear()
        track.delivered = delivered
        if ready <= 0:
            track.marks.clear()
            return 0.0
        while track.marks and delivered >= track.marks[0][1]:
            track.marks.popleft()
        mark = delivered + ready
        if not track.marks or mark > track.marks[-1][1]:
            track.marks.append((now, mark))
        if len(track.marks) > MAX_MARKS:
            del track.marks[1]  # thin the middle; the oldest mark is the one that counts
        return max(0.0, now - track.marks[0][0])

    def forget(self, keep: Iterable[str]) -> None:
        wanted = set(keep)
        for name in list(self._tracks):
            if name not in wanted:
                del self._tracks[name]


def sampled(row: Mapping[str, Any]) -> bool:
    """Per-replica queues (`x-expires`) come and go with pods: their names would grow
    the series without bound, and their backlog is not work anyone scales on."""
    name = str(row.get("name", ""))
    arguments = row.get("arguments") or {}
    return bool(name) and not name.startswith("amq.") and "x-expires" not in arguments


def parse(rows: Iterable[Mapping[str, Any]], *, now: float, ages: AgeEstimator) -> list[QueueStats]:
    """Pure: management API rows to stats. A queue whose figures the broker has not
    emitted yet (just declared) is left out rather than reported as empty."""
    stats: list[QueueStats] = []
    for row in rows:
        if not sampled(row) or row.get("messages_ready") is None:
            continue
        name = str(row["name"])
        ready = int(row["messages_ready"])
        head = row.get("head_message_timestamp")
        delivered = int((row.get("message_stats") or {}).get("deliver_get", 0))
        estimate = ages.observe(name, now=now, ready=ready, delivered=delivered)
        if isinstance(head, int | float) and ready > 0:
            age = max(0.0, now - float(head))
        else:
            age = estimate
        stats.append(
            QueueStats(
                name=name,
                ready=ready,
                unacked=int(row.get("messages_unacknowledged") or 0),
                consumers=int(row.get("consumers") or 0),
                oldest_age_seconds=age,
            )
        )
    ages.forget(s.name for s in stats)
    return stats


def vhost_of(amqp_url: str) -> str:
    path = urlsplit(amqp_url).path
    return unquote(path[1:]) if len(path) > 1 else "/"


class ManagementQueues:
    """Every queue of one vhost in one call to the management API."""

    def __init__(self, management_url: str, vhost: str, *, timeout: float = 5.0) -> None:
        url = httpx.URL(management_url.rstrip("/"))
        self._auth = (url.username, url.password or "") if url.username else None
        self._base = str(url.copy_with(username=None, password=None)).rstrip("/")
        self._path = f"/api/queues/{quote(vhost, safe='')}"
        self._timeout = timeout

    async def __call__(self) -> list[dict[str, Any]]:
        async with httpx.AsyncClient(
            base_url=self._base, auth=self._auth, timeout=self._timeout
        ) as client:
            response = await client.get(
                self._path, params={"columns": COLUMNS, "disable_stats": "false"}
            )
            response.raise_for_status()
            return list(response.json())


class QueueStatsSampler:
    def __init__(
        self,
        fetch: Fetch,
        *,
        interval: float,
        leases: Leases | None = None,
        holder: str = "",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._fetch = fetch
        self._interval = interval
        self._leases = leases
        self._holder = holder
        self._clock = clock
        self._ages = AgeEstimator()
        self._exported: set[str] = set()
        self._task: asyncio.Task[None] | None = None
        self.latest: dict[str, QueueStats] = {}
        # per endpoint: a fair endpoint's lanes summed into it (queue_groups.py)
        self.endpoints: dict[str, QueueStats] = {}
        self._exported_endpoints: set[str] = set()

    async def sample(self) -> dict[str, QueueStats]:
        """One sample: fetch, parse, export. Raises what the fetch raises."""
        now = self._clock()
        stats = parse(await self._fetch(), now=now, ages=self._ages)
        self.latest = {s.name: s for s in stats}
        self.endpoints = by_endpoint(stats)
        self._export(stats)
        QUEUE_STATS_SUCCESS.set(now)
        return self.latest

    def _export(self, stats: list[QueueStats]) -> None:
        for s in stats:
            QUEUE_DEPTH.labels(s.name).set(s.ready)
            QUEUE_UNACKED.labels(s.name).set(s.unacked)
            QUEUE_CONSUMERS.labels(s.name).set(s.consumers)
            QUEUE_OLDEST_AGE.labels(s.name).set(s.oldest_age_seconds)
        current = {s.name for s in stats}
        self._drop(self._exported - current)
        self._exported = current
        for name, group in self.endpoints.items():
            ENDPOINT_DEPTH.labels(name).set(group.ready)
        self._drop_endpoints(self._exported_endpoints - self.endpoints.keys())
        self._exported_endpoints = set(self.endpoints)

    def _drop_endpoints(self, names: Iterable[str]) -> None:
        for name in names:
            with contextlib.suppress(KeyError):
                ENDPOINT_DEPTH.remove(name)

    def _drop(self, names: Iterable[str]) -> None:
        for name in names:
            for gauge in (QUEUE_DEPTH, QUEUE_UNACKED, QUEUE_CONSUMERS, QUEUE_OLDEST_AGE):
                with contextlib.suppress(KeyError):
                    gauge.remove(name)

    def clear(self) -> None:
        """Stop exporting: another replica holds the lease, and two copies of one
        queue's figures would only confuse `sum`."""
        self._drop(self._exported)
        self._exported = set()
        self.latest = {}
        self._drop_endpoints(self._exported_endpoints)
        self._exported_endpoints = set()
        self.endpoints = {}

    async def run(self) -> None:
        """Until cancelled: sample every interval while holding the lease."""
        ttl = timedelta(seconds=self._interval * 3)
        try:
            while True:
                try:
                    if self._leases is None or await self._leases.acquire(LEASE, self._holder, ttl):
                        await self.sample()
                    else:
                        self.clear()
                except Exception as exc:  # the next interval tries again
                    log.warning("queue stats not sampled", error=repr(exc))
                await asyncio.sleep(self._interval)
        finally:
            if self._leases is not None:
                with contextlib.suppress(Exception):
                    await asyncio.shield(self._leases.release(LEASE, self._holder))

    def start(self) -> None:
        self._task = asyncio.create_task(self.run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.clear()

"""Admission control for ingest work, end to end: the backlog is every task accepted and
not finished, across all stages and every replica's submissions, sampled from MongoDB in
the background, so a request is judged from memory before any work is done.

Between samples this replica adds what it accepted itself, so a burst cannot overshoot by
more than what other replicas accept in one sampling interval."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import structlog
from prometheus_client import Gauge

from tradebus_storage import TaskBacklog

from .admission_policy import ADMITTED, AdmissionPolicy, Verdict, allowed_backlog, judge
from .errors import ApiError

log = structlog.get_logger(__name__)

BACKLOG = Gauge(
    "tradebus_gateway_ingest_backlog",
    "Ingest tasks accepted and not finished (all stages), as admission last sampled them.",
)
ALLOWED = Gauge(
    "tradebus_gateway_ingest_backlog_allowed",
    "The backlog admission allows now: SLO x drain rate, at least the floor.",
)
DRAIN = Gauge(
    "tradebus_gateway_ingest_drain_per_second", "Ingest tasks finishing per second, sampled."
)


class BacklogAdmission:
    def __init__(
        self,
        backlog: TaskBacklog,
        policy: AdmissionPolicy,
        *,
        kind: str = "rag.ingest",
        interval: float = 1.0,
        window: float = 30.0,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._backlog, self._policy, self._kind = backlog, policy, kind
        self._interval, self._window, self._now = interval, window, now
        self._unfinished: Counter[str] = Counter()
        self._during: Counter[str] | None = None  # accepted while a sample is running
        self.drain_rate: float | None = None
        self.sampled = False
        self._task: asyncio.Task[None] | None = None

    def published(self, count: int = 1, *, tenant_id: str = "") -> None:
        """Tasks this replica accepted since the last sample."""
        self._unfinished[tenant_id] += count
        if self._during is not None:
            self._during[tenant_id] += count

    def verdict(self, tenant_id: str | None = None, count: int = 1) -> Verdict:
        """Room for `count` more tasks of `tenant_id` (a batch is admitted as a whole)."""
        if not self.sampled:  # the database has not answered yet: nothing to judge by
            return ADMITTED
        unfinished = self._unfinished
        if count > 1:  # judged as the last of them arriving
            unfinished = unfinished + Counter({tenant_id or "": count - 1})
        return judge(self._policy, tenant_id, unfinished, self.drain_rate)

    def check(self, tenant_id: str | None = None) -> int:
        """0 when admitted, else the Retry-After seconds to answer with."""
        return self.verdict(tenant_id).retry_after

    def admit(self, tenant_id: str, count: int = 1) -> None:
        """Raise the 429 to answer with when there is no room for `count` more tasks."""
        verdict = self.verdict(tenant_id, count)
        if verdict.admitted:
            return
        if verdict.scope == "tenant":
            code = "tenant_over_quota"
            message = (
                f"this tenant has {verdict.backlog} documents accepted and unfinished, "
                f"its share is {verdict.allowed}; retry later"
            )
        else:
            code = "overloaded"
            message = "ingestion backlog is full; retry later"
        raise ApiError(429, code, message, headers={"Retry-After": str(verdict.retry_after)})

    async def sample(self) -> None:
        since = self._now() - timedelta(seconds=self._window)
        # What this replica accepts while the query runs may be missing from its answer:
        # added on top (at worst counted twice until the next sample, erring to refuse).
        self._during = Counter()
        try:
            sample = await self._backlog.sample(self._kind, since=since)
            unfinished = Counter(sample.unfinished)
            unfinished.update(self._during)
        finally:
            self._during = None
        self._unfinished = unfinished
        self.drain_rate = sample.finished / self._window if sample.finished else None
        self.sampled = True
        BACKLOG.set(sample.total)
        DRAIN.set(self.drain_rate or 0.0)
        ALLOWED.set(allowed_backlog(self._policy, self.drain_rate))

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="admission-sampler")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                await self.sample()
            except Exception as exc:  # database away: keep the last sample, keep trying
                log.debug("admission sample failed", error=str(exc))
            await asyncio.sleep(self._interval)

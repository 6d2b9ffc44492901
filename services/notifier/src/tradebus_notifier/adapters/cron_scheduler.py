"""The scheduler loop every notifier replica runs: claim due slots in MongoDB, publish the
claimed slot's command, record it published; take over slots another replica claimed but
never recorded as published.

Exactly once across replicas, step by step:
- claim: insert the (job, slot) record; a duplicate key means another replica has it;
- publish: the command goes out with the message id `schedule.<job>@<slot>`, whoever
  publishes it and however often;
- record: `claimed` → `published`. A crash (or a broker outage) between the claim and
  this leaves the record `claimed`; after `grace` any replica takes it over by
  compare-and-set and publishes it again under the same message id. A duplicate can only
  come from a holder that was slower than `grace`, carries the same id and slot, and the
  consumers are idempotent per slot. A run still unpublished when its slot is
  `give_up_after` old is marked `abandoned` (a nightly job is not run at noon)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import structlog

from tradebus_contracts import Contract, Envelope
from tradebus_storage import ScheduleRun, slot_message_id

from ..domain.cron import Firing, Job, SlotTracker, describe

log = structlog.get_logger("tradebus.notifier.scheduler")

Clock = Callable[[], datetime]


class Runs(Protocol):
    async def claim(
        self, job: str, slot: datetime, *, holder: str, now: datetime, catch_up: bool = False
    ) -> bool: ...

    async def mark_published(self, job: str, slot: datetime, *, now: datetime) -> bool: ...

    async def note_failure(self, job: str, slot: datetime, error: str) -> None: ...

    async def take_over_stale(
        self, *, holder: str, claimed_before: datetime, now: datetime, limit: int = 20
    ) -> list[ScheduleRun]: ...

    async def abandon(self, job: str, slot: datetime, reason: str) -> None: ...


class Publish(Protocol):
    def __call__(
        self, payload: Contract, *, tenant_id: str | None = ..., message_id: str | None = ...
    ) -> Awaitable[Envelope]: ...


def utcnow() -> datetime:
    return datetime.now(UTC)


class CronScheduler:
    def __init__(
        self,
        *,
        jobs: Sequence[Job],
        runs: Runs,
        publish: Publish,
        holder: str,
        catch_up: timedelta,
        grace: timedelta,
        give_up_after: timedelta,
        tick_seconds: float = 1.0,
        ready: Callable[[], bool] = lambda: True,
        clock: Clock = utcnow,
    ) -> None:
        self._jobs = {j.name: j for j in jobs}
        self._runs, self._publish, self._holder = runs, publish, holder
        self._grace, self._give_up_after = grace, give_up_after
        self._tick_seconds = tick_seconds
        self._ready, self._clock = ready, clock
        self._tracker = SlotTracker(jobs, started_at=clock(), catch_up=catch_up)
        self._task: asyncio.Task[None] | None = None
        # Stale claims are looked for a few times per grace period, not every tick.
        self._recovery_every = timedelta(seconds=min(60.0, max(1.0, grace.total_seconds() / 2)))
        self._next_recovery = clock()

    # -- one step, callable by tests with a fake clock ---------------------

    async def tick(self) -> list[Firing]:
        """Claim and publish what is due now; re-publish stale claims. Returns the
        firings this replica claimed."""
        if not self._ready():
            return []  # no claims that could not be published
        now = self._clock()
        fired = []
        for firing in self._tracker.due(now):
            claimed = await self._runs.claim(
                firing.job.name,
                firing.slot,
                holder=self._holder,
                now=now,
                catch_up=firing.catch_up,
            )
            self._tracker.handled(firing)
            if claimed:
                fired.append(firing)
                log.info("schedule slot claimed", holder=self._holder, **describe(firing))
                await self._send(firing.job, firing.slot)
        if now >= self._next_recovery:
            self._next_recovery = now + self._recovery_every
            await self._recover(now)
        return fired

    async def _send(self, job: Job, slot: datetime) -> bool:
        command = job.command(slot)
        try:
            await self._publish(
                command,
                tenant_id=getattr(command, "tenant_id", None),
                message_id=slot_message_id(job.name, slot),
            )
        except Exception as exc:
            # Stays `claimed`: taken over and re-published after the grace period.
            log.warning(
                "scheduled command not published",
                schedule=job.name,
                slot=slot.isoformat(),
                error=repr(exc),
            )
            await self._runs.note_failure(job.name, slot, repr(exc))
            return False
        await self._runs.mark_published(job.name, slot, now=self._clock())
        return True

    async def _recover(self, now: datetime) -> None:
        stale = await self._runs.take_over_stale(
            holder=self._holder, claimed_before=now - self._grace, now=now
        )
        for run in stale:
            job = self._jobs.get(run.job)
            if job is None:
                continue  # a schedule this replica does not run (removed, or newer build)
            if now - run.slot > self._give_up_after:
                await self._runs.abandon(run.job, run.slot, "not published in time")
                log.error("scheduled run abandoned", schedule=run.job, slot=run.slot.isoformat())
                continue
            log.warning(
                "re-publishing a claimed run",
                schedule=run.job,
                slot=run.slot.isoformat(),
                previous_attempts=run.publish_attempts - 1,
            )
            await self._send(job, run.slot)

    # -- the loop ------------------------------------------------------------

    async def run(self) -> None:
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # MongoDB away: the next tick tries again
                log.warning("scheduler tick failed", error=repr(exc))
            await asyncio.sleep(self._sleep_seconds())

    def _sleep_seconds(self) -> float:
        now = self._clock()
        wake = self._tracker.next_wake(now)
        if wake is None:
            return self._tick_seconds
        return max(0.05, min(self._tick_seconds, (wake - now).total_seconds()))

    def start(self) -> None:
        if self._task is None and self._jobs:
            self._task = asyncio.create_task(self.run(), name="cron-scheduler")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @property
    def schedules(self) -> dict[str, Any]:
        return {name: job.spec for name, job in self._jobs.items()}

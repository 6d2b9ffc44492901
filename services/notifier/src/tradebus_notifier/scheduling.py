"""Scheduled jobs in the notifier, wired in one place: the cron scheduler every replica
runs (it publishes each schedule's command once per slot across replicas) and the
consumer of the notifier's own scheduled command, the sweeps."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from tradebus_contracts import RunSweeps
from tradebus_messaging import Bus
from tradebus_messaging.runner import default_replica_id
from tradebus_storage import ScheduleRuns, ScheduleSettings

from .adapters.cron_scheduler import Clock, CronScheduler, utcnow
from .domain.cron import resolve_jobs
from .settings import NotifierSettings
from .sweeps import SweepsHandler

SWEEPS_QUEUE = "notifier.sweeps"


async def wire_schedules(
    bus: Bus,
    db: AsyncDatabase[Any],
    settings: NotifierSettings,
    schedules: ScheduleSettings,
    *,
    holder: str | None = None,
    clock: Clock = utcnow,
) -> CronScheduler:
    """Subscribe the sweeps consumer and return the (not yet started) scheduler."""
    bus.subscribe(
        queue=SWEEPS_QUEUE,
        message_types=[RunSweeps.message_type],
        handler=SweepsHandler(db),
        prefetch=1,
        concurrency=1,
    )
    runs = ScheduleRuns(db, retention=timedelta(seconds=settings.scheduler_run_retention_seconds))
    await runs.ensure_indexes()
    jobs = resolve_jobs(schedules.specs(), bus.registry, configured=schedules.configured)
    return CronScheduler(
        jobs=jobs if settings.scheduler_enabled else [],
        runs=runs,
        publish=bus.publish,
        holder=holder or default_replica_id(),
        catch_up=timedelta(seconds=schedules.catch_up_seconds),
        grace=timedelta(seconds=settings.scheduler_republish_grace_seconds),
        give_up_after=timedelta(seconds=settings.scheduler_give_up_seconds),
        tick_seconds=settings.scheduler_tick_seconds,
        ready=lambda: bus.connected,
        clock=clock,
    )

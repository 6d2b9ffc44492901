"""Which scheduled slots a replica should try to claim, and what it publishes for them.
Pure: the clock is an argument, claims and publishing are the adapter's.

Every replica runs the same loop; the claim record (one per job and slot, see
tradebus_storage.schedule_runs) makes each slot fire once whichever replicas try it.
A replica tries, per schedule, only the most recent slot at or before now:
- a slot that came while it was running is always tried (however late its tick);
- a slot from before it started (every replica was down then) is tried only when it is
  at most the catch-up window old: the most recent missed slot runs once at start-up,
  older ones and the backlog between them never do.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from tradebus_contracts import Contract, MessageKind, MessageRegistry, UnknownMessageType
from tradebus_storage import ScheduleSpec

log = structlog.get_logger("tradebus.notifier.cron")


@dataclass(frozen=True, slots=True)
class Job:
    """A schedule whose command this build can publish."""

    spec: ScheduleSpec
    model: type[Contract]

    @property
    def name(self) -> str:
        return self.spec.name

    def command(self, slot: datetime) -> Contract:
        return self.model.model_validate({**self.spec.payload, "slot": slot})


@dataclass(frozen=True, slots=True)
class Firing:
    job: Job
    slot: datetime
    catch_up: bool  # the slot passed before this replica started


class InvalidSchedule(ValueError):
    pass


def resolve_jobs(
    specs: Iterable[ScheduleSpec], registry: MessageRegistry, *, configured: bool
) -> list[Job]:
    """The enabled schedules as jobs. A configured schedule naming an unknown or
    non-command type, or a payload its command refuses, stops start-up (a typo must not
    pass silently); among the built-in defaults such a schedule is skipped with a warning
    (a build without that job's contract)."""
    jobs: list[Job] = []
    for spec in specs:
        if not spec.enabled:
            continue
        try:
            jobs.append(_job(spec, registry))
        except InvalidSchedule as exc:
            if configured:
                raise
            log.warning("default schedule skipped", schedule=spec.name, reason=str(exc))
    return jobs


def _job(spec: ScheduleSpec, registry: MessageRegistry) -> Job:
    try:
        model = registry.model_for(spec.command)
    except UnknownMessageType as exc:
        raise InvalidSchedule(f"{spec.name}: {exc}") from None
    if model.kind is not MessageKind.COMMAND:
        raise InvalidSchedule(f"{spec.name}: {spec.command} is a {model.kind.value}, not a command")
    if "slot" not in model.model_fields:
        raise InvalidSchedule(f"{spec.name}: {spec.command} has no `slot` field")
    job = Job(spec, model)
    try:  # the payload is checked now, not at 2 a.m.
        job.command(spec.latest_slot(datetime.now(UTC)))
    except ValueError as exc:
        raise InvalidSchedule(f"{spec.name}: payload refused by {spec.command}: {exc}") from None
    return job


class SlotTracker:
    """One replica's memory of the slot it last handled per job (claimed by it or
    found claimed by another), so each slot is tried once per replica."""

    def __init__(self, jobs: Iterable[Job], *, started_at: datetime, catch_up: timedelta) -> None:
        self._jobs = list(jobs)
        self._started_at = started_at
        self._catch_up = catch_up
        self._handled: dict[str, datetime] = {}

    def due(self, now: datetime) -> Iterator[Firing]:
        """Slots to try now. A slot stays due until `handled` is called for it (a claim
        that failed, MongoDB away, is tried again at the next tick)."""
        for job in self._jobs:
            slot = job.spec.latest_slot(now)
            last = self._handled.get(job.name)
            if last is not None and slot <= last:
                continue
            missed = slot < self._started_at
            if missed and now - slot > self._catch_up:
                self._handled[job.name] = slot  # too old: never tried
                continue
            yield Firing(job, slot, missed)

    def handled(self, firing: Firing) -> None:
        """The slot was claimed, by this replica or another."""
        self._handled[firing.job.name] = firing.slot

    def next_wake(self, now: datetime) -> datetime | None:
        """The next slot of any job (the loop sleeps no longer than until then)."""
        return min((j.spec.next_slot(now) for j in self._jobs), default=None)


def describe(firing: Firing) -> dict[str, Any]:
    return {
        "schedule": firing.job.name,
        "command": firing.job.spec.command,
        "slot": firing.slot.isoformat(),
        "catch_up": firing.catch_up,
    }

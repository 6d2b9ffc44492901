"""The watchdog: nothing lost, nothing stuck (DESIGN.md section 5).

Every `interval`, the one replica holding the lease:
- re-publishes commands that were lost: queued tasks whose publish was never recorded (a
  crash between the write and the publish), and queued/retrying tasks published long ago
  and untouched since (the message or its delayed retry vanished). Same message id (the
  task id), so inboxes and natural keys drop a copy that was not lost after all;
- settles batch parents from their children (a parent never waits on a lost event);
- ends tasks that outlive their kind's deadline: failed with `deadline_exceeded` (a
  batch: its unfinished documents fail so, and the batch settles with the counts).
Errors are logged and counted, never fatal: the next run tries again."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import structlog

from tradebus_contracts import IngestDocument, TaskStatusChanged
from tradebus_messaging import Bus
from tradebus_storage import (
    BATCH_KIND,
    DEADLINE_EXCEEDED,
    BatchFlow,
    LeaseRepository,
    Task,
    TaskFlow,
    TaskRepository,
)

from .settings import GatewaySettings
from .submission import INGEST_KIND, publish_command

log = structlog.get_logger(__name__)

# Kept from the reconciler it replaces: during a rolling deploy old and new replicas
# still take turns instead of both running.
LEASE = "gateway.reconciler"

# Kinds whose command the gateway recorded in the task's params and can re-publish.
COMMANDS: dict[str, type[IngestDocument]] = {INGEST_KIND: IngestDocument}

_Query = Callable[[timedelta, int], Awaitable[list[Task]]]  # stuck_queued, unanswered


@dataclass(frozen=True)
class WatchdogPolicy:
    stuck_after: timedelta  # queued, never published
    republish_after: timedelta  # published, yet untouched this long
    default_deadline: timedelta
    deadlines: Mapping[str, timedelta] = field(default_factory=dict)
    batch: int = 100  # tasks per query per run: a backlog drains over several runs

    @classmethod
    def from_settings(cls, s: GatewaySettings) -> WatchdogPolicy:
        return cls(
            stuck_after=timedelta(seconds=s.reconcile_stuck_seconds),
            republish_after=timedelta(seconds=s.watchdog_republish_after_seconds),
            default_deadline=timedelta(seconds=s.task_deadline_seconds),
            deadlines={k: timedelta(seconds=v) for k, v in s.task_deadlines.items()},
            batch=s.watchdog_batch_size,
        )

    def deadline_for(self, kind: str) -> timedelta:
        return self.deadlines.get(kind, self.default_deadline)


@dataclass
class WatchdogRun:
    republished: int = 0
    expired: int = 0
    settled: int = 0  # batch parents that ended
    errors: int = 0

    @property
    def busy(self) -> bool:
        return bool(self.republished or self.expired or self.settled or self.errors)


class Watchdog:
    def __init__(self, bus: Bus, tasks: TaskRepository, policy: WatchdogPolicy) -> None:
        self._bus, self._tasks, self._policy = bus, tasks, policy
        self._flow = TaskFlow(tasks, self._announce)
        self._batches = BatchFlow(tasks, self._flow)

    async def run_once(self) -> WatchdogRun:
        """One pass; the counts are logged and returned. A failing task or query is
        logged and counted, and the rest of the pass goes on."""
        run = WatchdogRun()
        if self._bus.connected:  # else every publish would fail: leave them for later
            await self._republish(run, "stuck", self._tasks.stuck_queued)
            await self._republish(run, "unanswered", self._tasks.unanswered)
        await self._settle(run)
        await self._expire(run)
        if run.busy:
            log.info(
                "watchdog run",
                republished=run.republished,
                expired=run.expired,
                settled=run.settled,
                errors=run.errors,
            )
        return run

    async def _republish(self, run: WatchdogRun, which: str, query: _Query) -> None:
        after = self._policy.stuck_after if which == "stuck" else self._policy.republish_after
        try:
            candidates = await query(after, self._policy.batch)
        except Exception:
            run.errors += 1
            log.exception("watchdog query failed", query=which)
            return
        for task in candidates:
            model = COMMANDS.get(task.kind)
            if model is None:
                continue  # not a command the gateway owns; its deadline still applies
            try:
                command = model.model_validate(task.params["command"])
                priority = task.params.get("priority")
                if await publish_command(self._bus, self._tasks, command, priority=priority):
                    run.republished += 1
                    log.info("command re-published", task_id=task.id, why=which)
                else:
                    run.errors += 1  # publish_command logged why
            except Exception:
                run.errors += 1
                log.exception("re-publish failed", task_id=task.id, why=which)

    async def _settle(self, run: WatchdogRun) -> None:
        try:
            parents = await self._tasks.unsettled_batches(self._policy.batch)
        except Exception:
            run.errors += 1
            log.exception("watchdog query failed", query="unsettled_batches")
            return
        for parent in parents:
            try:
                settled = await self._batches.settle(parent)
                if settled.terminal:
                    run.settled += 1
                elif settled.updated_at == parent.updated_at:
                    # unchanged: to the back of the line, so every parent gets its turn
                    await self._tasks.touch(parent.tenant_id, parent.id)
            except Exception:
                run.errors += 1
                log.exception("settling a batch failed", task_id=parent.id)

    async def _expire(self, run: WatchdogRun) -> None:
        policy = self._policy
        try:
            overdue = await self._tasks.overdue(
                policy.deadlines, policy.default_deadline, policy.batch
            )
        except Exception:
            run.errors += 1
            log.exception("watchdog query failed", query="overdue")
            return
        for task in overdue:
            try:
                if task.kind == BATCH_KIND:
                    message = self._overdue_message(task)
                    await self._batches.expire(task, DEADLINE_EXCEEDED, message)
                    run.expired += 1
                    log.warning("batch past its deadline settled", task_id=task.id)
                elif await self._flow.fail(
                    task.tenant_id, task.id, DEADLINE_EXCEEDED, self._overdue_message(task)
                ):
                    run.expired += 1
                    log.warning("task past its deadline failed", task_id=task.id, kind=task.kind)
            except Exception:
                run.errors += 1
                log.exception("failing an overdue task failed", task_id=task.id)

    def _overdue_message(self, task: Task) -> str:
        deadline = self._policy.deadline_for(task.kind).total_seconds()
        since = task.queued_at or task.created_at
        age = (datetime.now(UTC) - since).total_seconds()
        return (
            f"the task did not finish within the {deadline:.0f} s deadline of {task.kind} "
            f"tasks: {task.status.value} after {age:.0f} s (attempts: {task.attempts})"
        )

    async def _announce(self, event: TaskStatusChanged) -> None:
        await self._bus.publish(event, tenant_id=event.tenant_id)

    async def run(self, leases: LeaseRepository, *, holder: str, interval: float) -> None:
        """Until cancelled: every `interval`, one pass if this replica holds the lease."""
        lease_ttl = timedelta(seconds=interval * 3)
        try:
            while True:
                try:
                    if await leases.acquire(LEASE, holder, lease_ttl):
                        await self.run_once()
                except Exception:
                    log.exception("watchdog pass failed; retrying next interval")
                await asyncio.sleep(interval)
        finally:
            with contextlib.suppress(Exception):
                await leases.release(LEASE, holder)

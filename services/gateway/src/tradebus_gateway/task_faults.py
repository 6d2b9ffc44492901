"""A task always ends: when any service parks a message that worked on a task, the
`tradebus.message.faulted.v1` event it publishes fails that task here, with the fault
reason as its error code (DESIGN.md section 5)."""

from __future__ import annotations

from typing import Any

import structlog

from tradebus_contracts.faults import MessageFaulted
from tradebus_messaging import Bus, MessageContext
from tradebus_storage import TaskFlow, TaskRepository

log = structlog.get_logger(__name__)

QUEUE = "gateway.task-faults"

_REASONS = {
    "permanent": "a permanent error",
    "retries_exhausted": "its retries ran out",
    "malformed": "it could not be read",
    "too_large": "it was too large",
    "unknown_type": "no handler knows its type",
    "delivery_limit": "it kept crashing its consumer",
    "timeout": "its handler timed out",
}


def describe(event: MessageFaulted) -> str:
    """The human half of the task's error (the code is the machine-readable reason)."""
    why = _REASONS.get(event.reason, event.reason)
    text = f"{event.exception_type}: {event.exception_message}" if event.exception_type else ""
    return (
        f"{text or 'message failed'} (message {event.message_id} parked in "
        f"{event.queue}.dlq by {event.service} after {event.attempts} attempt(s): {why})"
    )


class TaskFaultHandler:
    """Fails the task of a parked message: error code = the fault reason, message =
    exception type and message plus the queue.

    Idempotent, so at-least-once delivery is harmless: the failure is a compare-and-set
    from the non-terminal states, so a repeated event, or a task that already succeeded
    or was cancelled, is a no-op. A task its handler had already failed keeps that error
    and gets the fault recorded, which lets a replay of the message revive it."""

    def __init__(self, tasks: TaskRepository) -> None:
        self._tasks = tasks

    async def __call__(self, event: MessageFaulted, ctx: MessageContext) -> None:
        if event.task_id is None or event.tenant_id is None:
            return  # not about a task (or no tenant to scope the lookup by)
        if event.faulted_type == MessageFaulted.message_type:
            # Our own failure to handle a fault event: its task is left to the watchdog's
            # deadline, else a database outage would cycle faults through here forever.
            log.warning("fault of a fault event ignored", task_id=event.task_id)
            return
        flow = TaskFlow(self._tasks, ctx.publish)
        failed = await flow.fault(
            event.tenant_id, event.task_id, event.reason, describe(event), fault=_fault(event)
        )
        log.info(
            "task failed by a parked message" if failed else "parked message's task unchanged",
            task_id=event.task_id,
            reason=event.reason,
            queue=event.queue,
        )


def _fault(event: MessageFaulted) -> dict[str, Any]:
    return {
        "reason": event.reason,
        "message_id": event.message_id,
        "queue": event.queue,
        "service": event.service,
        "at": event.last_failure_at,
    }


def subscribe_task_faults(bus: Bus, tasks: TaskRepository) -> None:
    bus.subscribe(
        queue=QUEUE, message_types=[MessageFaulted.message_type], handler=TaskFaultHandler(tasks)
    )

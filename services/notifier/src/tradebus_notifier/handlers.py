"""Operational events become log lines and metrics an alerting stack can route."""

from __future__ import annotations

import structlog
from prometheus_client import Counter

from tradebus_contracts import MessageFaulted, TaskStatusChanged
from tradebus_messaging import MessageContext

log = structlog.get_logger("tradebus.notifier")

FAULTS = Counter(
    "tradebus_notifier_faults_total",
    "Parked messages seen, by queue and reason.",
    ["queue", "reason"],
)
TASKS = Counter(
    "tradebus_notifier_task_transitions_total", "Task status changes seen.", ["task_kind", "status"]
)


async def on_message_faulted(event: MessageFaulted, ctx: MessageContext) -> None:
    """Effect: a log line and a counter. Not deduplicated on purpose: a redelivery
    after a crash may count one parked message twice; an alert errs towards noise."""
    FAULTS.labels(event.queue, event.reason).inc()
    log.warning(
        "message parked",
        queue=event.queue,
        reason=event.reason,
        faulted_message_id=event.message_id,
        faulted_type=event.faulted_type,
        error_type=event.exception_type,
        error=event.exception_message,
        attempts=event.attempts,
        failed_service=event.service,
    )


async def on_task_status_changed(event: TaskStatusChanged, ctx: MessageContext) -> None:
    """Effect: a log line and a counter; like faults, at-least-once and not deduplicated."""
    TASKS.labels(event.task_kind, event.status.value).inc()
    log.info(
        "task status changed",
        task_id=event.task_id,
        status=event.status.value,
        previous=event.previous_status,
        progress=event.progress.model_dump(),
    )

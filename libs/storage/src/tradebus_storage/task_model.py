"""The task model and its state machine: which status may follow which, what a
replay may revive, and how a task reads as a status event. Pure; the repository
(tasks.py) is what writes it."""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime
from typing import Any, get_args

from pydantic import BaseModel, Field

from tradebus_contracts import Progress, TaskError, TaskStatus, TaskStatusChanged
from tradebus_contracts.faults import FaultReason

S = TaskStatus
TERMINAL = frozenset({S.SUCCEEDED, S.FAILED, S.CANCELLED})
ALLOWED: dict[TaskStatus, frozenset[TaskStatus]] = {
    S.QUEUED: frozenset({S.RUNNING, S.FAILED, S.CANCELLED}),
    S.RUNNING: frozenset({S.SUCCEEDED, S.FAILED, S.RETRYING, S.CANCELLED}),
    S.RETRYING: frozenset({S.RUNNING, S.FAILED, S.CANCELLED}),
    S.SUCCEEDED: frozenset(),
    S.FAILED: frozenset(),
    S.CANCELLED: frozenset(),
}


ACTIVE = [S.QUEUED.value, S.RUNNING.value, S.RETRYING.value]
HISTORY_LIMIT = 50  # entries kept per task: the audit trail stays small
DEADLINE_EXCEEDED = "deadline_exceeded"
# Failures a replay may undo: the message was parked (or the task ran out of time), so
# the work never really finished. A handler's own verdict (e.g. corrupt_document) is
# revivable only once a fault was recorded for the task (see `record_fault`).
FAULT_CODES = frozenset(get_args(FaultReason))
REVIVABLE_CODES = FAULT_CODES | {DEADLINE_EXCEEDED}


def can_transition(source: TaskStatus, target: TaskStatus) -> bool:
    return target in ALLOWED[source]


def sources_of(target: TaskStatus) -> list[str]:
    """Every status a task may move to `target` from."""
    return [s.value for s, targets in ALLOWED.items() if target in targets]


def new_task_id() -> str:
    """32 hex chars, creation-time ordered (ms prefix), so paging by id is newest first."""
    return f"{time.time_ns() // 1_000_000:012x}{secrets.token_hex(10)}"


def task_document(
    *,
    tenant_id: str,
    kind: str,
    params: dict[str, Any] | None = None,
    idempotency_key: str | None = None,
    task_id: str | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """A new queued task as stored; `fields` are extra top-level fields (e.g. `parent_id`)."""
    now = datetime.now(UTC)
    doc: dict[str, Any] = {
        "_id": task_id or new_task_id(),
        "tenant_id": tenant_id,
        "kind": kind,
        "status": S.QUEUED.value,
        "progress": {"done": 0, "total": None},
        "attempts": 0,
        "error": None,
        "result": None,
        "params": params or {},
        "created_at": now,
        "updated_at": now,
        "queued_at": now,
        "history": [{"at": now, "from": None, "to": S.QUEUED.value, "reason": "created"}],
        **fields,
    }
    if idempotency_key is not None:
        doc["idempotency_key"] = idempotency_key
    return doc


class Task(BaseModel):
    id: str
    tenant_id: str
    kind: str
    status: TaskStatus
    progress: Progress = Field(default_factory=Progress)
    attempts: int = 0
    error: TaskError | None = None
    result: dict[str, Any] | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    idempotency_key: str | None = None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    published_at: datetime | None = None
    expires_at: datetime | None = None
    # The deadline clock: set when the task is created and again when it is revived.
    queued_at: datetime | None = None
    fault: dict[str, Any] | None = None  # the parked message that ended it, if any
    revivals: int = 0
    parent_id: str | None = None  # the batch this task is a document of, if any
    history: list[dict[str, Any]] = Field(default_factory=list)

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    def status_event(self, previous: TaskStatus | None = None) -> TaskStatusChanged:
        return TaskStatusChanged(
            task_id=self.id,
            tenant_id=self.tenant_id,
            task_kind=self.kind,
            status=self.status,
            previous_status=previous,
            progress=self.progress,
            error=self.error,
            occurred_at=self.updated_at,
        )

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Task:
        return cls.model_validate({**doc, "id": doc["_id"]})

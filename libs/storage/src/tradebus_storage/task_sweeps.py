"""The watchdog's queries over tasks: lost publishes, unanswered commands, overdue
tasks. A mixin of TaskRepository (it shares the collection), kept apart because the
read side of recovery is its own job."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection

from .task_model import ACTIVE, S, Task


def _queued_before(cutoff: datetime, match: dict[str, Any]) -> dict[str, Any]:
    # Tasks written before `queued_at` existed count from their creation.
    return {
        **match,
        "$or": [
            {"queued_at": {"$lte": cutoff}},
            {"queued_at": None, "created_at": {"$lte": cutoff}},
        ],
    }


class TaskSweeps:
    _c: AsyncCollection[Any]

    async def stuck_queued(self, older_than: timedelta, limit: int = 100) -> list[Task]:
        """Queued tasks whose publish was never recorded, untouched for `older_than`:
        the process died between the write and the publish (or before recording it).
        The watchdog re-publishes them; a task already in the queue is left alone,
        however deep the backlog."""
        cutoff = datetime.now(UTC) - older_than
        docs = (
            await self._c.find(
                {"status": S.QUEUED.value, "published_at": None, "updated_at": {"$lte": cutoff}}
            )
            .limit(limit)
            .to_list()
        )
        return [Task.from_doc(d) for d in docs]

    async def unanswered(self, older_than: timedelta, limit: int = 100) -> list[Task]:
        """Queued or retrying tasks whose command was published `older_than` ago and
        which nobody has touched since: the message (or its delayed retry) was lost.
        Oldest first; re-publishing refreshes `published_at`, so each is tried once per
        `older_than`."""
        cutoff = datetime.now(UTC) - older_than
        docs = (
            await self._c.find(
                {
                    "status": {"$in": [S.QUEUED.value, S.RETRYING.value]},
                    "updated_at": {"$lte": cutoff},
                    "published_at": {"$lte": cutoff},  # (a date: never matches null)
                }
            )
            .sort("updated_at", ASCENDING)
            .limit(limit)
            .to_list()
        )
        return [Task.from_doc(d) for d in docs]

    async def overdue(
        self, deadlines: Mapping[str, timedelta], default: timedelta, limit: int = 100
    ) -> list[Task]:
        """Unfinished tasks queued longer ago than their kind's deadline (`default` for
        kinds not in `deadlines`)."""
        now = datetime.now(UTC)
        clauses = [_queued_before(now - d, {"kind": k}) for k, d in deadlines.items()]
        clauses.append(_queued_before(now - default, {"kind": {"$nin": list(deadlines)}}))
        docs = (
            await self._c.find({"status": {"$in": ACTIVE}, "$or": clauses}).limit(limit).to_list()
        )
        return [Task.from_doc(d) for d in docs]

"""The operator audit log (`audit`): every operator write and every console login or
logout, whoever made it and however it ended (`ok`, `refused`, `failed`). Append-only;
ids are creation-time ordered, so paging by id is newest first."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from tradebus_storage import new_task_id

from .audit_text import clean, clean_text

Outcome = Literal["ok", "refused", "failed"]
KEY_ID_LENGTH = 12  # the digest prefix operators see; a whole digest is never shown


class AuditLog:
    def __init__(self, db: AsyncDatabase[Any]) -> None:
        self._c = db["audit"]

    async def ensure_indexes(self) -> None:
        await self._c.create_index([("action", ASCENDING), ("_id", DESCENDING)])

    async def record(
        self,
        actor_key_id: str,
        actor_label: str,
        action: str,
        target: str,
        details: dict[str, Any] | None = None,
        outcome: Outcome = "ok",
    ) -> str:
        """Append one record; returns its id. Every text is cleaned and bounded
        (`audit_text`): what a caller typed cannot forge or bloat a record."""
        record_id = new_task_id()
        await self._c.insert_one(
            {
                "_id": record_id,
                "at": datetime.now(UTC),
                "actor": {
                    "key_id": clean_text(actor_key_id[:KEY_ID_LENGTH]),
                    "label": clean_text(actor_label),
                },
                "action": clean_text(action, 64),
                "target": clean_text(target),
                "details": clean(details or {}),
                "outcome": outcome,
            }
        )
        return record_id

    async def page(
        self, *, action: str | None = None, after: str | None = None, limit: int = 50
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Newest first; `after` is the last id of the previous page."""
        query: dict[str, Any] = {}
        if action is not None:
            query["action"] = action
        if after is not None:
            query["_id"] = {"$lt": after}
        docs = await self._c.find(query).sort("_id", DESCENDING).limit(limit + 1).to_list()
        return docs[:limit], (docs[limit - 1]["_id"] if len(docs) > limit else None)

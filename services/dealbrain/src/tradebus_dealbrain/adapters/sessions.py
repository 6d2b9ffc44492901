"""Conversation sessions in MongoDB (`sessions`), one document per (tenant, session id).

The `_id` is the pair itself, so another tenant's session with the same id is another
document: it can be neither read nor written from here. Turns carry their position `n`;
an append is a compare-and-set on `turn_count`, so concurrent asks in one session never
number two turns alike. Summaries are a compare-and-set on `summarized_through`, and
drop turns folded long ago so a document stays far below MongoDB's size limit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from tradebus_knowledge import count_tokens

from ..domain import SessionContext, SessionState, StoredSession, Turn, recent_context

_APPEND_ROUNDS = 8


class SessionConflict(RuntimeError):
    """An append kept losing the race for the session's next turn numbers."""


def _key(tenant_id: str, session_id: str) -> dict[str, str]:
    return {"tenant_id": tenant_id, "session_id": session_id}


def _turn(doc: dict[str, Any]) -> Turn:
    return Turn(doc["role"], doc["content"], doc["at"], int(doc.get("tokens", 0)), int(doc["n"]))


class MongoSessionStore:
    def __init__(
        self, db: AsyncDatabase[Any], *, ttl_days: int = 30, keep_summarized_turns: int = 50
    ) -> None:
        self._sessions = db["sessions"]
        self._ttl = timedelta(days=ttl_days)
        self._keep = keep_summarized_turns

    async def ensure_indexes(self) -> None:
        # An idle session expires; every append pushes its expiry out.
        await self._sessions.create_index([("expires_at", ASCENDING)], expireAfterSeconds=0)
        await self._sessions.create_index([("tenant_id", ASCENDING), ("updated_at", ASCENDING)])

    async def context(self, tenant_id: str, session_id: str, *, recent: int) -> SessionContext:
        projection: dict[str, Any] = {"summary": 1, "summarized_through": 1}
        if recent:
            projection["turns"] = {"$slice": -recent}
        doc = await self._sessions.find_one(
            {"_id": _key(tenant_id, session_id), "tenant_id": tenant_id}, projection
        )
        if doc is None:
            return SessionContext()
        turns = [_turn(t) for t in doc.get("turns", [])]
        return recent_context(
            doc.get("summary", ""), turns, int(doc.get("summarized_through", -1)), recent
        )

    async def append(self, tenant_id: str, session_id: str, turns: Sequence[Turn]) -> SessionState:
        key = _key(tenant_id, session_id)
        now = datetime.now(UTC)
        for _ in range(_APPEND_ROUNDS):
            current = await self._sessions.find_one(
                {"_id": key, "tenant_id": tenant_id}, {"turn_count": 1}
            )
            count = int(current["turn_count"]) if current else 0
            docs = [
                {
                    "n": count + i,
                    "role": t.role,
                    "content": t.content,
                    "at": t.at,
                    "tokens": t.tokens,
                }
                for i, t in enumerate(turns)
            ]
            update = {
                "$setOnInsert": {
                    "session_id": session_id,
                    "summary": "",
                    "summary_tokens": 0,
                    "summarized_through": -1,
                    "summarized_tokens": 0,
                    "created_at": now,
                },
                "$push": {"turns": {"$each": docs}},
                "$inc": {"turn_count": len(docs), "tokens_total": sum(t.tokens for t in turns)},
                "$set": {"updated_at": now, "expires_at": now + self._ttl},
            }
            # A new session is inserted only if nobody else inserted it meanwhile.
            turn_filter: dict[str, Any] = (
                {"turn_count": count} if current else {"turn_count": {"$exists": False}}
            )
            try:
                after = await self._sessions.find_one_and_update(
                    {"_id": key, "tenant_id": tenant_id, **turn_filter},
                    update,
                    upsert=current is None,
                    projection={"turns": 0},
                    return_document=ReturnDocument.AFTER,
                )
            except DuplicateKeyError:
                continue
            if after is None:
                continue  # another append took these numbers: read the count again
            return SessionState(
                turn_count=int(after["turn_count"]),
                summarized_through=int(after.get("summarized_through", -1)),
                pending_tokens=int(after["tokens_total"]) - int(after.get("summarized_tokens", 0)),
            )
        raise SessionConflict(f"session {session_id}: too many concurrent appends")

    async def load(self, tenant_id: str, session_id: str) -> StoredSession | None:
        doc = await self._sessions.find_one(
            {"_id": _key(tenant_id, session_id), "tenant_id": tenant_id}
        )
        if doc is None:
            return None
        turns = tuple(sorted((_turn(t) for t in doc.get("turns", [])), key=lambda t: t.n))
        return StoredSession(doc.get("summary", ""), int(doc.get("summarized_through", -1)), turns)

    async def store_summary(
        self,
        tenant_id: str,
        session_id: str,
        *,
        expected_through: int,
        through: int,
        summary: str,
        folded_tokens: int,
    ) -> bool:
        result = await self._sessions.update_one(
            {
                "_id": _key(tenant_id, session_id),
                "tenant_id": tenant_id,
                "summarized_through": expected_through,
            },
            {
                "$set": {
                    "summary": summary,
                    "summary_tokens": count_tokens(summary),
                    "summarized_through": through,
                    "updated_at": datetime.now(UTC),
                },
                "$inc": {"summarized_tokens": folded_tokens},
                # Only turns the summary already covers are dropped.
                "$pull": {"turns": {"n": {"$lte": through - self._keep}}},
            },
        )
        return result.matched_count == 1

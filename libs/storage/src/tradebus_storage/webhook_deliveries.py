"""The webhook delivery log (`webhook_deliveries`): one record per (event, subscription),
holding the event to send, the last attempt's outcome and a short history. Records
expire through a TTL index on `expires_at`, refreshed on every attempt.

Attempts are recorded compare-and-set on (generation, attempts so far), so a duplicate
job (a redelivery, a re-fanout after a crash) or a job from before a replay changes
nothing."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

HISTORY = 20  # attempts kept per delivery


class DeliveryState(StrEnum):
    PENDING = "pending"
    RETRYING = "retrying"
    DELIVERED = "delivered"
    FAILED = "failed"


def delivery_id(event_id: str, subscription_id: str) -> str:
    """Stable for one event and subscription: the `webhook-id` receivers dedupe by."""
    digest = hashlib.sha256(f"{event_id}:{subscription_id}".encode()).hexdigest()
    return "msg_" + digest[:32]


class Attempt(BaseModel):
    attempt: int
    at: datetime
    response_status: int | None = None
    latency_ms: int | None = None
    error: str | None = None


class Delivery(BaseModel):
    id: str
    tenant_id: str
    subscription_id: str
    event_id: str
    event_type: str
    event: dict[str, Any]  # the CloudEvent (structured mode) to POST
    state: DeliveryState
    attempts: int = 0
    generation: int = 0
    response_status: int | None = None
    latency_ms: int | None = None
    error: str | None = None
    next_attempt_at: datetime | None = None
    history: list[Attempt] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Delivery:
        return cls.model_validate({**doc, "id": doc["_id"]})


class DeliveryLog:
    def __init__(self, db: AsyncDatabase[Any], *, ttl: timedelta = timedelta(days=30)) -> None:
        self._c = db["webhook_deliveries"]
        self._ttl = ttl

    async def ensure_indexes(self) -> None:
        await self._c.create_index("expires_at", expireAfterSeconds=0)
        await self._c.create_index(
            [("tenant_id", ASCENDING), ("subscription_id", ASCENDING), ("seq", DESCENDING)]
        )

    async def open(
        self, *, tenant_id: str, subscription_id: str, event: dict[str, Any]
    ) -> Delivery:
        """The delivery of `event` to the subscription, created if absent (idempotent)."""
        now = datetime.now(UTC)
        did = delivery_id(str(event["id"]), subscription_id)
        doc = await self._c.find_one_and_update(
            {"_id": did},
            {
                "$setOnInsert": {
                    "tenant_id": tenant_id,
                    "subscription_id": subscription_id,
                    "event_id": str(event["id"]),
                    "event_type": str(event["type"]),
                    "event": event,
                    "state": DeliveryState.PENDING.value,
                    "attempts": 0,
                    "generation": 0,
                    "history": [],
                    "created_at": now,
                    "updated_at": now,
                    "seq": f"{int(now.timestamp() * 1000):013d}-{did}",
                    "expires_at": now + self._ttl,
                }
            },
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        assert doc is not None  # an upsert returning the document after always has one
        return Delivery.from_doc(doc)

    async def by_id(self, did: str) -> Delivery | None:
        doc = await self._c.find_one({"_id": did})
        return Delivery.from_doc(doc) if doc else None

    async def get(self, tenant_id: str, subscription_id: str, did: str) -> Delivery | None:
        doc = await self._c.find_one(
            {"_id": did, "tenant_id": tenant_id, "subscription_id": subscription_id}
        )
        return Delivery.from_doc(doc) if doc else None

    async def page(
        self, tenant_id: str, subscription_id: str, *, cursor: str | None = None, limit: int = 50
    ) -> tuple[list[Delivery], str | None]:
        """Newest first; the cursor is the last item's position."""
        query: dict[str, Any] = {"tenant_id": tenant_id, "subscription_id": subscription_id}
        if cursor is not None:
            query["seq"] = {"$lt": cursor}
        docs = await self._c.find(query).sort("seq", DESCENDING).limit(limit + 1).to_list()
        items = [Delivery.from_doc(d) for d in docs[:limit]]
        return items, (docs[limit - 1]["seq"] if len(docs) > limit else None)

    async def record(
        self,
        delivery: Delivery,
        attempt: Attempt,
        *,
        state: DeliveryState,
        next_attempt_at: datetime | None = None,
    ) -> bool:
        """Record attempt `attempt.attempt` of the delivery's current generation; False
        when that attempt was already recorded (or a replay superseded it)."""
        now = datetime.now(UTC)
        result = await self._c.update_one(
            {
                "_id": delivery.id,
                "generation": delivery.generation,
                "attempts": attempt.attempt - 1,
            },
            {
                "$set": {
                    "attempts": attempt.attempt,
                    "state": state.value,
                    "response_status": attempt.response_status,
                    "latency_ms": attempt.latency_ms,
                    "error": attempt.error,
                    "next_attempt_at": next_attempt_at,
                    "updated_at": now,
                    "expires_at": now + self._ttl,
                },
                "$push": {"history": {"$each": [attempt.model_dump()], "$slice": -HISTORY}},
            },
        )
        return result.modified_count == 1

    async def replay(self, tenant_id: str, subscription_id: str, did: str) -> Delivery | None:
        """A new generation of the delivery, from attempt 1; jobs of older generations
        become stale."""
        now = datetime.now(UTC)
        doc = await self._c.find_one_and_update(
            {"_id": did, "tenant_id": tenant_id, "subscription_id": subscription_id},
            {
                "$inc": {"generation": 1},
                "$set": {
                    "attempts": 0,
                    "state": DeliveryState.PENDING.value,
                    "next_attempt_at": now,
                    "updated_at": now,
                },
            },
            return_document=ReturnDocument.AFTER,
        )
        return Delivery.from_doc(doc) if doc else None

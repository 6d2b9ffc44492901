"""Leases: exactly one replica runs a periodic job at a time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError


class LeaseRepository:
    def __init__(self, db: AsyncDatabase[Any]) -> None:
        self._collection = db["leases"]

    async def acquire(self, name: str, holder: str, ttl: timedelta) -> bool:
        """Take or renew the lease if it is free, expired or already ours."""
        now = datetime.now(UTC)
        try:
            doc = await self._collection.find_one_and_update(
                {"_id": name, "$or": [{"holder": holder}, {"expires_at": {"$lte": now}}]},
                {"$set": {"holder": holder, "expires_at": now + ttl, "renewed_at": now}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
        except DuplicateKeyError:
            return False  # someone else holds a live lease (the upsert collided)
        return doc is not None and doc["holder"] == holder

    async def release(self, name: str, holder: str) -> None:
        await self._collection.delete_one({"_id": name, "holder": holder})

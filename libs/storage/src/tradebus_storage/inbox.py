"""Message-id inbox: the record that a consumer has already applied a message."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError


class AlreadyProcessed(Exception):
    """The message id is already in the inbox: its effects happened."""

    duplicate = True


class MongoInbox:
    """`_id` = `<consumer>:<message id>`, expiring after the retention period (TTL)."""

    def __init__(
        self, client: AsyncMongoClient[Any], db: AsyncDatabase[Any], *, retention_seconds: int
    ) -> None:
        self._client = client
        self._collection = db["inbox"]
        self._retention = timedelta(seconds=retention_seconds)

    async def ensure_indexes(self) -> None:
        await self._collection.create_index("expires_at", expireAfterSeconds=0)

    async def seen(self, consumer: str, message_id: str) -> bool:
        return await self._collection.find_one({"_id": f"{consumer}:{message_id}"}) is not None

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Any]:
        async with self._client.start_session() as session:  # noqa: SIM117 (needs session)
            async with await session.start_transaction():
                yield session

    async def record(self, consumer: str, message_id: str, session: Any = None) -> None:
        now = datetime.now(UTC)
        try:
            await self._collection.insert_one(
                {"_id": f"{consumer}:{message_id}", "at": now, "expires_at": now + self._retention},
                session=session,
            )
        except DuplicateKeyError as exc:
            raise AlreadyProcessed(f"{consumer} already processed {message_id}") from exc


class MemoryInbox:
    """Same contract in memory, for unit tests (no transaction semantics)."""

    def __init__(self) -> None:
        self.ids: set[str] = set()

    async def seen(self, consumer: str, message_id: str) -> bool:
        return f"{consumer}:{message_id}" in self.ids

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        yield None

    async def record(self, consumer: str, message_id: str, session: Any = None) -> None:
        key = f"{consumer}:{message_id}"
        if key in self.ids:
            raise AlreadyProcessed(key)
        self.ids.add(key)

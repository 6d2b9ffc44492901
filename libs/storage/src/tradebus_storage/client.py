from __future__ import annotations

from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from .settings import MongoSettings


def create_client(settings: MongoSettings) -> AsyncMongoClient[dict[str, Any]]:
    return AsyncMongoClient(
        settings.url,
        serverSelectionTimeoutMS=settings.server_selection_timeout_ms,
        maxPoolSize=settings.max_pool_size,
        tz_aware=True,
    )


async def ping(db: AsyncDatabase[Any]) -> bool:
    try:
        await db.command("ping")
    except Exception:
        return False
    return True

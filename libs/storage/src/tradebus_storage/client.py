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


def open_database(
    settings: MongoSettings | None = None,
) -> tuple[AsyncMongoClient[dict[str, Any]], AsyncDatabase[Any]]:
    """A service's client and its database, from the given settings or the
    environment's; the caller closes the client on shutdown."""
    settings = settings or MongoSettings()
    client = create_client(settings)
    return client, client[settings.database]

"""API-key records as operators see them: never the key, never the whole digest, only
its first 12 characters (`key_id`), which is also how an operator names a key."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from ..auth import TENANT
from .audit import KEY_ID_LENGTH


def key_item(doc: dict[str, Any]) -> dict[str, Any]:
    revoked_at = doc.get("revoked_at")
    if doc.get("revoked") and revoked_at is None:
        revoked_at = doc.get("created_at")  # revoked before revocations were dated
    return {
        "key_id": str(doc["_id"])[:KEY_ID_LENGTH],
        "label": str(doc.get("label") or ""),
        "role": doc.get("role") or TENANT,
        "tenant_id": doc.get("tenant_id"),
        "created_at": doc.get("created_at"),
        "revoked_at": revoked_at,
    }


class KeyRecords:
    def __init__(self, db: AsyncDatabase[Any]) -> None:
        self._keys = db["api_keys"]

    async def of_tenants(self, tenant_ids: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
        ids = list(tenant_ids)
        out: dict[str, list[dict[str, Any]]] = {t: [] for t in ids}
        query = {"tenant_id": {"$in": ids}}
        async for doc in self._keys.find(query).sort("created_at", ASCENDING):
            out[doc["tenant_id"]].append(key_item(doc))
        return out

    async def matching(self, key_id: str) -> list[dict[str, Any]]:
        """Records whose digest starts with `key_id` (hex): at most two, enough to tell
        a unique match from an ambiguous one."""
        query = {"_id": {"$gte": key_id, "$lt": key_id + "g"}}  # hex sorts below "g"
        return await self._keys.find(query).limit(2).to_list()

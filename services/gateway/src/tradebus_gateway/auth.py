"""API keys resolving to tenants. Keys are stored as SHA-256 digests: they are long random
secrets, so a fast digest is enough (no password-style stretching) and lookup is by
digest, never by scanning."""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

KEY_PREFIX = "tb_"


def new_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def digest(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Principal:
    tenant_id: str
    key_id: str


class ApiKeyRepository:
    """Tenants and their keys, as the CLI and the bootstrap write them; requests resolve
    keys through the in-memory `KeyDirectory`."""

    def __init__(self, db: AsyncDatabase[Any]) -> None:
        self._tenants = db["tenants"]
        self._keys = db["api_keys"]

    async def create_tenant(self, tenant_id: str, name: str | None = None) -> bool:
        """Returns False when the tenant already exists."""
        try:
            await self._tenants.insert_one(
                {"_id": tenant_id, "name": name or tenant_id, "created_at": datetime.now(UTC)}
            )
        except DuplicateKeyError:
            return False
        return True

    async def tenant_exists(self, tenant_id: str) -> bool:
        return await self._tenants.find_one({"_id": tenant_id}, {"_id": 1}) is not None

    async def add_key(self, tenant_id: str, api_key: str, *, label: str = "") -> str:
        """Store `api_key` (its digest) for the tenant; idempotent for the same key."""
        if not await self.tenant_exists(tenant_id):
            raise LookupError(f"tenant {tenant_id!r} does not exist")
        key_id = digest(api_key)
        # Insert-or-keep in one atomic step so replicas bootstrapping the same key at once
        # all succeed; a concurrent upsert may still lose with DuplicateKeyError, and the
        # ownership check below applies either way.
        with contextlib.suppress(DuplicateKeyError):
            await self._keys.update_one(
                {"_id": key_id},
                {
                    "$setOnInsert": {
                        "tenant_id": tenant_id,
                        "label": label,
                        "hint": api_key[:7] + "…",
                        "created_at": datetime.now(UTC),
                        "revoked": False,
                    }
                },
                upsert=True,
            )
        existing = await self._keys.find_one({"_id": key_id}, {"tenant_id": 1})
        if existing is None or existing["tenant_id"] != tenant_id:
            raise ValueError("this key already belongs to another tenant")
        return key_id

    async def revoke(self, key_id: str) -> bool:
        result = await self._keys.update_one({"_id": key_id}, {"$set": {"revoked": True}})
        return result.modified_count == 1

    async def bootstrap(self, api_key: str, tenant_id: str = "default") -> None:
        await self.create_tenant(tenant_id)
        await self.add_key(tenant_id, api_key, label="bootstrap")

"""API keys resolving to tenants. Keys are stored as SHA-256 digests: they are long random
secrets, so a fast digest is enough (no password-style stretching) and lookup is by
digest, never by scanning."""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

KEY_PREFIX = "tb_"


def new_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def digest(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


Role = Literal["tenant", "operator"]
TENANT: Role = "tenant"
OPERATOR: Role = "operator"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling. An operator key belongs to no tenant: its `tenant_id` is ""."""

    tenant_id: str
    key_id: str
    role: Role = TENANT
    label: str = ""

    @property
    def operator(self) -> bool:
        return self.role == OPERATOR


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
                        "role": TENANT,
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

    async def add_operator_key(self, api_key: str, *, label: str = "") -> str:
        """Store an operator key (its digest): it belongs to no tenant. Idempotent."""
        key_id = digest(api_key)
        with contextlib.suppress(DuplicateKeyError):
            await self._keys.update_one(
                {"_id": key_id},
                {
                    "$setOnInsert": {
                        "tenant_id": None,
                        "role": OPERATOR,
                        "label": label,
                        "hint": api_key[:7] + "…",
                        "created_at": datetime.now(UTC),
                        "revoked": False,
                    }
                },
                upsert=True,
            )
        existing = await self._keys.find_one({"_id": key_id}, {"role": 1})
        if existing is None or existing.get("role") != OPERATOR:
            raise ValueError("this key already belongs to a tenant")
        return key_id

    async def revoke(self, key_id: str) -> bool:
        result = await self._keys.update_one(
            {"_id": key_id, "revoked": False},
            {"$set": {"revoked": True, "revoked_at": datetime.now(UTC)}},
        )
        return result.modified_count == 1

    async def bootstrap(self, api_key: str, tenant_id: str = "default") -> None:
        await self.create_tenant(tenant_id)
        await self.add_key(tenant_id, api_key, label="bootstrap")

    async def bootstrap_operator(self, api_key: str) -> None:
        await self.add_operator_key(api_key, label="bootstrap")

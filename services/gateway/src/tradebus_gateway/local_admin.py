"""Tenants and keys written straight to MongoDB for `tradebus tenants|keys --local`: the
bootstrap before any operator key exists. Registered under the `tradebus.local_admin`
entry-point group, so the command line uses the gateway's own records without importing
a service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from tradebus_storage import MongoSettings, create_client

from .auth import ApiKeyRepository, digest, new_api_key

KEY_ID_LENGTH = 12  # the key id operators see: a prefix of the stored digest


class LocalAdmin:
    def __init__(self, db: AsyncDatabase[Any]) -> None:
        self._repo = ApiKeyRepository(db)
        self._tenants = db["tenants"]
        self._keys = db["api_keys"]

    async def create_tenant(self, tenant_id: str, name: str | None) -> dict[str, Any] | None:
        if not await self._repo.create_tenant(tenant_id, name):
            return None
        tenant = await self._tenants.find_one({"_id": tenant_id})
        assert tenant is not None
        return _tenant_item(tenant, [])

    async def create_key(self, tenant_id: str | None, label: str) -> dict[str, Any]:
        """A tenant's key, or an operator key when `tenant_id` is None; LookupError for
        an unknown tenant."""
        api_key = new_api_key()
        if tenant_id is None:
            await self._repo.add_operator_key(api_key, label=label)
        else:
            await self._repo.add_key(tenant_id, api_key, label=label)
        return {"key_id": digest(api_key)[:KEY_ID_LENGTH], "api_key": api_key, "label": label}

    async def revoke_key(self, key_id: str) -> dict[str, Any] | None:
        """By the 12-character id or the full digest; None when no key matches."""
        # Digests are lowercase hex, so "~" sorts after every key with this prefix.
        found = await self._keys.find({"_id": {"$gte": key_id, "$lt": key_id + "~"}}).to_list(2)
        if not found:
            return None
        if len(found) > 1:
            raise LookupError(f"key id {key_id!r} is ambiguous: give more characters")
        await self._repo.revoke(found[0]["_id"])
        revoked = await self._keys.find_one({"_id": found[0]["_id"]})
        assert revoked is not None
        return _key_item(revoked)

    async def list_tenants(self) -> list[dict[str, Any]]:
        keys: dict[str, list[dict[str, Any]]] = {}
        async for key in self._keys.find({"tenant_id": {"$ne": None}}):
            keys.setdefault(key["tenant_id"], []).append(_key_item(key))
        return [
            _tenant_item(tenant, keys.get(tenant["_id"], []))
            async for tenant in self._tenants.find({}).sort("_id", 1)
        ]


def _tenant_item(tenant: dict[str, Any], keys: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": tenant["_id"],
        "name": tenant.get("name") or tenant["_id"],
        "created_at": tenant.get("created_at"),
        "keys": keys,
    }


def _key_item(key: dict[str, Any]) -> dict[str, Any]:
    revoked_at = key.get("revoked_at") or (key.get("created_at") if key.get("revoked") else None)
    return {
        "key_id": key["_id"][:KEY_ID_LENGTH],
        "label": key.get("label", ""),
        "role": key.get("role", "tenant"),
        "created_at": key.get("created_at"),
        "revoked_at": revoked_at,
    }


@asynccontextmanager
async def open_local_admin() -> AsyncIterator[LocalAdmin]:
    settings = MongoSettings()
    client = create_client(settings)
    try:
        yield LocalAdmin(client[settings.database])
    except PyMongoError as exc:
        raise ConnectionError(f"MongoDB at {settings.url}: {exc}") from exc
    finally:
        await client.close()

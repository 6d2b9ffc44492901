"""Tenants and keys written to the database directly, for bootstrap before any operator key
exists. The gateway owns those records, so it provides the implementation: it registers an
async context manager under the `tradebus.local_admin` entry-point group (this package never
imports a service)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from importlib.metadata import entry_points
from typing import Any, Protocol, TypeVar

from .errors import CliError

GROUP = "tradebus.local_admin"
T = TypeVar("T")


class LocalAdmin(Protocol):
    async def create_tenant(self, tenant_id: str, name: str | None) -> dict[str, Any] | None:
        """The new tenant item; None when it already exists."""

    async def create_key(self, tenant_id: str | None, label: str) -> dict[str, Any]:
        """{"key_id", "api_key", "label"}; no tenant means an operator key."""

    async def revoke_key(self, key_id: str) -> dict[str, Any] | None:
        """The revoked key item; None when no key matches."""

    async def list_tenants(self) -> list[dict[str, Any]]: ...


Opener = Callable[[], AbstractAsyncContextManager[LocalAdmin]]


def opener() -> Opener:
    found = list(entry_points(group=GROUP))
    if not found:
        raise CliError("--local needs the gateway package installed (tradebus-gateway)")
    loaded: Opener = found[0].load()
    return loaded


def run_local(fn: Callable[[LocalAdmin], Awaitable[T]], open_admin: Opener | None = None) -> T:
    async def go() -> T:
        async with (open_admin or opener())() as admin:
            return await fn(admin)

    try:
        return asyncio.run(go())
    except (LookupError, ValueError) as exc:  # an unknown tenant, an ambiguous key id
        raise CliError(str(exc)) from exc
    except OSError as exc:  # ConnectionError included
        raise CliError(f"cannot reach MongoDB: {exc}") from exc

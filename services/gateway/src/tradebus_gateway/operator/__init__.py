"""The operator API (`/v1/operator/*`): operator keys only, every write audited."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Response
from pymongo.asynchronous.database import AsyncDatabase

from ..auth import ApiKeyRepository
from ..settings import GatewaySettings
from . import audit_routes, overview, parking, tasks, tenants, topology, webhooks
from .audit import AuditLog


async def _not_stored(response: Response) -> None:
    # Answers name every tenant's data, and a new key is shown once: no cache keeps them.
    response.headers["Cache-Control"] = "no-store"


router = APIRouter(prefix="/v1/operator", tags=["operator"], dependencies=[Depends(_not_stored)])
for _module in (overview, tasks, parking, tenants, topology, webhooks, audit_routes):
    router.include_router(_module.router)


async def prepare(db: AsyncDatabase[Any], settings: GatewaySettings) -> None:
    """At start: the audit log's index, and the bootstrap operator key if one is set."""
    await AuditLog(db).ensure_indexes()
    if settings.bootstrap_operator_key is not None:
        await ApiKeyRepository(db).bootstrap_operator(
            settings.bootstrap_operator_key.get_secret_value()
        )


__all__ = ["AuditLog", "prepare", "router"]

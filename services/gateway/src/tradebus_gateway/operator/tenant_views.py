"""Tenants as operators see them: keys (ids only), limits, a day's usage, recent errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tradebus_storage.task_search import TaskSearch

from ..state import GatewayState
from .key_records import KeyRecords
from .tenant_models import KeyOut, RecentError, TenantOut, UsageOut

RECENT_ERRORS = 5


async def tenant_views(state: GatewayState, docs: list[dict[str, Any]]) -> list[TenantOut]:
    keys = await KeyRecords(state.db).of_tenants(d["_id"] for d in docs)
    tasks = TaskSearch(state.db)
    since = datetime.now(UTC) - timedelta(hours=24)
    settings = state.settings
    rate = f"{settings.tenant_rate_per_second:g}/s, burst {settings.tenant_burst}"
    out = []
    for doc in docs:
        tenant_id = doc["_id"]
        failures = await tasks.recent_failures(tenant_id, limit=RECENT_ERRORS)
        out.append(
            TenantOut(
                id=tenant_id,
                name=str(doc.get("name") or tenant_id),
                created_at=doc.get("created_at"),
                keys=[KeyOut.model_validate(k) for k in keys.get(tenant_id, [])],
                rate_limit=rate,
                quota=settings.ingest_tenant_quotas.get(tenant_id),
                usage=UsageOut(tasks_24h=await tasks.usage(tenant_id, since)),
                recent_errors=[
                    RecentError(
                        task_id=t.id,
                        kind=t.kind,
                        code=t.error.code if t.error else "unknown",
                        message=t.error.message if t.error else "",
                        at=t.finished_at or t.updated_at,
                    )
                    for t in failures
                ],
            )
        )
    return out

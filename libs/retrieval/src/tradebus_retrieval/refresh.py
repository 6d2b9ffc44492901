"""Keeping every replica's tenant indexes fresh: each replica consumes
`omnirag.document.indexed.v1` and `omnirag.document.deleted.v1` on a queue of its own
(fan-out), which the broker deletes
when the replica has been gone for `expires_seconds`; failures park in one parking lot
shared by the service's replicas, so a dead replica leaves nothing behind."""

from __future__ import annotations

from typing import Any

from tradebus_contracts import DocumentDeleted, DocumentIndexed
from tradebus_messaging import Bus

from .cache import TenantIndexCache

# A refresh is one small MongoDB read and an in-memory insert.
_PREFETCH = 8
_CONCURRENCY = 4


def refresh_queue(service: str, replica_id: str) -> str:
    return f"{service}.index-refresh.{replica_id}"


def subscribe_index_refresh(
    bus: Bus,
    cache: TenantIndexCache,
    *,
    service: str,
    replica_id: str,
    expires_seconds: float,
) -> str:
    """Subscribe this replica; returns its queue name."""

    async def refresh(event: DocumentIndexed | DocumentDeleted, ctx: Any) -> None:
        if isinstance(event, DocumentDeleted):
            await cache.document_deleted(event.tenant_id, event.document_id)
        else:
            await cache.document_indexed(event.tenant_id, event.document_id)

    queue = refresh_queue(service, replica_id)
    bus.subscribe(
        queue=queue,
        message_types=[DocumentIndexed.message_type, DocumentDeleted.message_type],
        handler=refresh,
        prefetch=_PREFETCH,
        concurrency=_CONCURRENCY,
        queue_type="classic",
        expires_seconds=expires_seconds,
        parking=f"{service}.index-refresh",
    )
    return queue

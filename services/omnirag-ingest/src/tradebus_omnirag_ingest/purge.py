"""`omnirag-ingest.purge`: a deleted document's chunks, vectors and stored source are
removed once `omnirag.document.deleted.v1` is out. The gateway's tombstone already hides
the document from every reader, so this runs off the request path, retried on the delay
network like any command: a crash midway leaves data nobody can cite, and the redelivery
finishes it (every step is idempotent)."""

from __future__ import annotations

import structlog

from tradebus_contracts import DocumentDeleted
from tradebus_messaging import MessageContext
from tradebus_storage import BlobStore, DocumentCatalog

log = structlog.get_logger(__name__)


class PurgeHandler:
    def __init__(self, *, catalog: DocumentCatalog, blobs: BlobStore) -> None:
        self._catalog, self._blobs = catalog, blobs

    async def __call__(self, msg: DocumentDeleted, ctx: MessageContext) -> None:
        source = await self._catalog.purge(msg.tenant_id, msg.document_id)
        if source is None:
            log.info("purge skipped: document not deleted", document_id=msg.document_id)
            return
        blob_id = str(source.get("blob_id") or "")
        # A blob another live document still reads (none today: each submission stores
        # its own) is kept.
        if (
            source.get("kind") == "upload"
            and blob_id
            and not await self._catalog.live_blob_ids(msg.tenant_id, [blob_id])
        ):
            await self._blobs.delete(blob_id)
        log.info("document purged", document_id=msg.document_id, tenant_id=msg.tenant_id)

"""Per-tenant indexes built from MongoDB on first use and kept fresh:

- `document_indexed(tenant, document)` adds one document's vectors in place (the
  `omnirag.document.indexed.v1` event calls it), so new knowledge is searchable at once
  without reloading the tenant;
- `document_deleted(tenant, document)` drops a document (the
  `omnirag.document.deleted.v1` event calls it), so no answer cites it afterwards;
- a full rebuild after `refresh_seconds` catches anything missed while
  the process was disconnected, served stale-while-revalidate so no query waits on it;
- concurrent first queries of a tenant share one load (single flight), and the least
  recently used tenants are evicted past `max_tenants`;
- the texts of recently retrieved chunks stay in memory (`text_cache_chunks`, LRU), so a
  warm query does not touch MongoDB at all: a database busy with a bulk ingest does not
  slow the online path."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import structlog

from tradebus_knowledge import Embedder, embed_query
from tradebus_storage import KnowledgeRepository, StoredChunk

from .index import TenantIndex
from .metrics import INDEX_CHUNKS, INDEX_LOADS

log = structlog.get_logger("tradebus.retrieval")


@dataclass(frozen=True, slots=True)
class RetrievedChunk:
    id: str
    document_id: str
    title: str
    text: str
    score: float


@dataclass
class _Entry:
    index: TenantIndex
    loaded_at: float


class TenantIndexCache:
    def __init__(
        self,
        repo: KnowledgeRepository,
        embedder: Embedder,
        *,
        max_tenants: int = 64,
        refresh_seconds: float = 300.0,
        text_cache_chunks: int = 50_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._repo = repo
        self._texts: OrderedDict[tuple[str, str], StoredChunk] = OrderedDict()
        self._text_cache_chunks = text_cache_chunks
        self._embedder = embedder
        self._max_tenants = max_tenants
        self._refresh_seconds = refresh_seconds
        self._clock = clock
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._loading: dict[str, asyncio.Task[_Entry]] = {}

    @property
    def dimensions(self) -> int:
        return self._embedder.dimensions

    async def search(
        self,
        tenant_id: str,
        query: str,
        k: int,
        *,
        filters: Mapping[str, str] | None = None,
    ) -> list[RetrievedChunk]:
        """The tenant's k chunks most similar to `query`, best first."""
        entry = await self._entry(tenant_id)
        if len(entry.index) == 0:
            return []
        vector = (await embed_query(self._embedder, [query]))[0]
        hits = entry.index.search(vector, k, filters or {})
        if not hits:
            return []
        chunks = await self._texts_of(tenant_id, [h.chunk_id for h in hits])
        out: list[RetrievedChunk] = []
        for hit in hits:
            chunk = chunks.get(hit.chunk_id)
            if chunk is None:  # deleted since the index was built
                continue
            doc = entry.index.documents.get(chunk.document_id)
            title = doc.title if doc else ""
            out.append(
                RetrievedChunk(hit.chunk_id, chunk.document_id, title, chunk.text, hit.score)
            )
        return out

    async def document_indexed(self, tenant_id: str, document_id: str) -> None:
        """Make one newly indexed (or re-indexed) document searchable in a loaded tenant
        index."""
        loading = self._loading.get(tenant_id)
        if loading is not None:
            # A load that read MongoDB before this document was marked indexed would
            # install an index without it: apply the event to what the load installs.
            with contextlib.suppress(Exception):
                await asyncio.shield(loading)
        entry = self._entries.get(tenant_id)
        if entry is None:
            return  # not loaded here: the first query loads everything anyway
        document = await self._repo.indexed_document(tenant_id, document_id)
        if document is None:  # deleted since (a late event): make sure it is gone
            self._drop(entry, tenant_id, document_id)
            return
        vectors = await self._repo.tenant_vectors(
            tenant_id, self.dimensions, document_id=document_id
        )
        if document_id in entry.index.documents:  # re-indexed: its texts may have changed
            self._forget_texts(tenant_id, document_id)
        entry.index.add_document(document, vectors.ids, vectors.matrix)
        INDEX_CHUNKS.labels(tenant_id).set(len(entry.index))

    async def document_deleted(self, tenant_id: str, document_id: str) -> None:
        """Drop a deleted document from a loaded tenant index (and its cached texts):
        no answer from this replica cites it after this returns."""
        loading = self._loading.get(tenant_id)
        if loading is not None:
            # A load that read MongoDB before the tombstone would install the document.
            with contextlib.suppress(Exception):
                await asyncio.shield(loading)
        self._forget_texts(tenant_id, document_id)
        entry = self._entries.get(tenant_id)
        if entry is not None:
            self._drop(entry, tenant_id, document_id)
        log.info("deleted document dropped", tenant_id=tenant_id, document_id=document_id)

    def _drop(self, entry: _Entry, tenant_id: str, document_id: str) -> None:
        if entry.index.remove_document(document_id):
            self._forget_texts(tenant_id, document_id)
            INDEX_CHUNKS.labels(tenant_id).set(len(entry.index))

    def _forget_texts(self, tenant_id: str, document_id: str) -> None:
        prefixes = (document_id + ":", document_id + "#")
        for key in [k for k in self._texts if k[0] == tenant_id and k[1].startswith(prefixes)]:
            del self._texts[key]

    def invalidate(self, tenant_id: str) -> None:
        self._entries.pop(tenant_id, None)

    async def _texts_of(self, tenant_id: str, ids: list[str]) -> dict[str, StoredChunk]:
        found: dict[str, StoredChunk] = {}
        missing: list[str] = []
        for cid in ids:
            chunk = self._texts.get((tenant_id, cid))
            if chunk is None:
                missing.append(cid)
            else:
                self._texts.move_to_end((tenant_id, cid))
                found[cid] = chunk
        if missing:
            for chunk in await self._repo.load_chunks(tenant_id, missing):
                found[chunk.id] = chunk
                self._texts[(tenant_id, chunk.id)] = chunk
            while len(self._texts) > self._text_cache_chunks:
                self._texts.popitem(last=False)
        return found

    async def close(self) -> None:
        for task in self._loading.values():
            task.cancel()
        for task in list(self._loading.values()):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _entry(self, tenant_id: str) -> _Entry:
        entry = self._entries.get(tenant_id)
        if entry is not None:
            self._entries.move_to_end(tenant_id)
            if self._clock() - entry.loaded_at >= self._refresh_seconds:
                self._load_in_background(tenant_id)  # serve stale meanwhile
            return entry
        # Shielded: a caller giving up (its deadline) must not cancel the load that
        # every other caller of this tenant is waiting on.
        return await asyncio.shield(self._load_in_background(tenant_id))

    def _load_in_background(self, tenant_id: str) -> asyncio.Task[_Entry]:
        task = self._loading.get(tenant_id)
        if task is None:
            task = asyncio.create_task(self._load(tenant_id), name=f"index-load:{tenant_id}")
            self._loading[tenant_id] = task
            task.add_done_callback(lambda _: self._loading.pop(tenant_id, None))
        return task

    async def _load(self, tenant_id: str) -> _Entry:
        started = time.perf_counter()
        documents = await self._repo.indexed_documents(tenant_id)
        vectors = await self._repo.tenant_vectors(tenant_id, self.dimensions)
        index = TenantIndex.build(self.dimensions, documents, vectors.ids, vectors.matrix)
        entry = _Entry(index, self._clock())
        self._entries[tenant_id] = entry
        self._entries.move_to_end(tenant_id)
        while len(self._entries) > self._max_tenants:
            evicted, _ = self._entries.popitem(last=False)
            INDEX_CHUNKS.remove(evicted)
        INDEX_LOADS.inc()
        INDEX_CHUNKS.labels(tenant_id).set(len(index))
        log.info(
            "tenant index loaded",
            tenant_id=tenant_id,
            chunks=len(index),
            documents=len(documents),
            seconds=round(time.perf_counter() - started, 3),
        )
        return entry

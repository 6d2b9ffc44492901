"""Tenant-scoped retrieval over the knowledge base, shared by dealbrain and shadowhunter:
an in-memory exact vector index per tenant, built from MongoDB and kept fresh."""

from .cache import RetrievedChunk, TenantIndexCache
from .index import TenantIndex, document_of
from .refresh import refresh_queue, subscribe_index_refresh

__all__ = [
    "RetrievedChunk",
    "TenantIndex",
    "TenantIndexCache",
    "document_of",
    "refresh_queue",
    "subscribe_index_refresh",
]

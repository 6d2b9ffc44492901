"""MongoDB access for tradebus: client, task state machine, idempotency inbox, leases, blobs."""

from .blobs import Blob, BlobNotFound, BlobStore
from .client import create_client, ping
from .inbox import AlreadyProcessed, MemoryInbox, MongoInbox
from .knowledge import (
    INDEXED,
    IndexedDocument,
    KnowledgeRepository,
    NewChunk,
    StoredChunk,
    TenantVectors,
    chunk_id,
)
from .leases import LeaseRepository
from .settings import MongoSettings
from .task_flow import TaskFlow
from .tasks import ALLOWED, TERMINAL, Task, TaskRepository, can_transition, new_task_id

__all__ = [
    "ALLOWED",
    "INDEXED",
    "TERMINAL",
    "AlreadyProcessed",
    "Blob",
    "BlobNotFound",
    "BlobStore",
    "IndexedDocument",
    "KnowledgeRepository",
    "LeaseRepository",
    "MemoryInbox",
    "MongoInbox",
    "MongoSettings",
    "NewChunk",
    "StoredChunk",
    "Task",
    "TaskFlow",
    "TaskRepository",
    "TenantVectors",
    "can_transition",
    "chunk_id",
    "create_client",
    "new_task_id",
    "ping",
]

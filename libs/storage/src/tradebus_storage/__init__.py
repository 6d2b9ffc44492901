"""MongoDB access for tradebus: client, task state machine, idempotency inbox, leases, blobs."""

from .blobs import Blob, BlobNotFound, BlobStore
from .client import create_client, open_database, ping
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
from .tasks import (
    ALLOWED,
    DEADLINE_EXCEEDED,
    REVIVABLE_CODES,
    TERMINAL,
    Task,
    TaskRepository,
    can_transition,
    new_task_id,
)
from .webhook_deliveries import Attempt, Delivery, DeliveryLog, DeliveryState, delivery_id
from .webhooks import (
    SigningSecret,
    WebhookRepository,
    WebhookSubscription,
    new_signing_secret,
)

__all__ = [
    "ALLOWED",
    "DEADLINE_EXCEEDED",
    "INDEXED",
    "REVIVABLE_CODES",
    "TERMINAL",
    "AlreadyProcessed",
    "Attempt",
    "Blob",
    "BlobNotFound",
    "BlobStore",
    "Delivery",
    "DeliveryLog",
    "DeliveryState",
    "IndexedDocument",
    "KnowledgeRepository",
    "LeaseRepository",
    "MemoryInbox",
    "MongoInbox",
    "MongoSettings",
    "NewChunk",
    "SigningSecret",
    "StoredChunk",
    "Task",
    "TaskFlow",
    "TaskRepository",
    "TenantVectors",
    "WebhookRepository",
    "WebhookSubscription",
    "can_transition",
    "chunk_id",
    "create_client",
    "delivery_id",
    "new_signing_secret",
    "new_task_id",
    "open_database",
    "ping",
]

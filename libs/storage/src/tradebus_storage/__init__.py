"""MongoDB access for tradebus: client, task state machine, idempotency inbox, leases, blobs."""

from .batch_flow import BatchFlow
from .blobs import Blob, BlobNotFound, BlobStore
from .client import create_client, open_database, ping
from .document_catalog import (
    DocumentCatalog,
    DocumentFilter,
    DocumentRecord,
    InvalidDocumentCursor,
)
from .inbox import AlreadyProcessed, MemoryInbox, MongoInbox
from .knowledge import (
    DELETED,
    INDEXED,
    DocumentGone,
    IndexedDocument,
    KnowledgeRepository,
    NewChunk,
    StoredChunk,
    TenantVectors,
    chunk_id,
    version_key,
)
from .leases import LeaseRepository
from .rag_quality import InvalidCursor, RagQualityRepository, RecallRun
from .schedule_runs import ScheduleRun, ScheduleRuns, slot_message_id
from .schedules import DEFAULT_SCHEDULES, ScheduleSettings, ScheduleSpec
from .settings import MongoSettings
from .task_backlog import BacklogSample, TaskBacklog
from .task_batches import BATCH_KIND, ChildCounts
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
    "BATCH_KIND",
    "DEADLINE_EXCEEDED",
    "DEFAULT_SCHEDULES",
    "DELETED",
    "INDEXED",
    "REVIVABLE_CODES",
    "TERMINAL",
    "AlreadyProcessed",
    "Attempt",
    "BacklogSample",
    "BatchFlow",
    "Blob",
    "BlobNotFound",
    "BlobStore",
    "ChildCounts",
    "Delivery",
    "DeliveryLog",
    "DeliveryState",
    "DocumentCatalog",
    "DocumentFilter",
    "DocumentGone",
    "DocumentRecord",
    "IndexedDocument",
    "InvalidCursor",
    "InvalidDocumentCursor",
    "KnowledgeRepository",
    "LeaseRepository",
    "MemoryInbox",
    "MongoInbox",
    "MongoSettings",
    "NewChunk",
    "RagQualityRepository",
    "RecallRun",
    "ScheduleRun",
    "ScheduleRuns",
    "ScheduleSettings",
    "ScheduleSpec",
    "SigningSecret",
    "StoredChunk",
    "Task",
    "TaskBacklog",
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
    "slot_message_id",
    "version_key",
]

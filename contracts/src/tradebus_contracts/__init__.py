"""tradebus message contracts: the CloudEvents envelope, payload models and their registry."""

from ._base import Contract, MessageKind
from ._envelope import CONTENT_TYPE, Envelope, InvalidEnvelope, new_message_id
from ._registry import MessageRegistry, UnknownMessageType, is_valid_message_type
from .alerts import AlertRaised, AlertResolved, NotifyAlert
from .dealbrain import AskReply, AskRequest, Citation, RpcError, SummarizeSession
from .faults import MessageFaulted
from .omnirag import (
    DocumentDeleted,
    DocumentIndexed,
    DocumentSource,
    EmbedChunks,
    IngestDocument,
    TextSource,
    UploadSource,
    UrlSource,
)
from .quality import EvaluateRecall, RecallEvaluated
from .schedules import CheckKnowledgeBase, KnowledgeBaseChecked, RunSweeps
from .shadowhunter import (
    AssessReply,
    AssessRequest,
    Evidence,
    HuntReply,
    HuntRequest,
    Lead,
    LeadSource,
    RubricFactor,
)
from .tasks import Progress, TaskError, TaskStatus, TaskStatusChanged
from .webhooks import DeliverWebhook, WebhookDisabled, WebhookTest

REGISTRY = MessageRegistry(
    [
        IngestDocument,
        EmbedChunks,
        DocumentIndexed,
        DocumentDeleted,
        TaskStatusChanged,
        MessageFaulted,
        AskRequest,
        AskReply,
        SummarizeSession,
        HuntRequest,
        HuntReply,
        AssessRequest,
        AssessReply,
        RpcError,
        DeliverWebhook,
        WebhookDisabled,
        WebhookTest,
        CheckKnowledgeBase,
        KnowledgeBaseChecked,
        RunSweeps,
        AlertRaised,
        AlertResolved,
        NotifyAlert,
        EvaluateRecall,
        RecallEvaluated,
    ]
)

__all__ = [
    "CONTENT_TYPE",
    "REGISTRY",
    "AlertRaised",
    "AlertResolved",
    "AskReply",
    "AskRequest",
    "AssessReply",
    "AssessRequest",
    "CheckKnowledgeBase",
    "Citation",
    "Contract",
    "DeliverWebhook",
    "DocumentDeleted",
    "DocumentIndexed",
    "DocumentSource",
    "EmbedChunks",
    "Envelope",
    "EvaluateRecall",
    "Evidence",
    "HuntReply",
    "HuntRequest",
    "IngestDocument",
    "InvalidEnvelope",
    "KnowledgeBaseChecked",
    "Lead",
    "LeadSource",
    "MessageFaulted",
    "MessageKind",
    "MessageRegistry",
    "NotifyAlert",
    "Progress",
    "RecallEvaluated",
    "RpcError",
    "RubricFactor",
    "RunSweeps",
    "SummarizeSession",
    "TaskError",
    "TaskStatus",
    "TaskStatusChanged",
    "TextSource",
    "UnknownMessageType",
    "UploadSource",
    "UrlSource",
    "WebhookDisabled",
    "WebhookTest",
    "is_valid_message_type",
    "new_message_id",
]

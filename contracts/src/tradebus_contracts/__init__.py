"""tradebus message contracts: the CloudEvents envelope, payload models and their registry."""

from ._base import Contract, MessageKind
from ._envelope import CONTENT_TYPE, Envelope, InvalidEnvelope, new_message_id
from ._registry import MessageRegistry, UnknownMessageType, is_valid_message_type
from .dealbrain import AskReply, AskRequest, Citation, RpcError, SummarizeSession
from .faults import MessageFaulted
from .omnirag import (
    DocumentIndexed,
    DocumentSource,
    EmbedChunks,
    IngestDocument,
    TextSource,
    UploadSource,
    UrlSource,
)
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
    ]
)

__all__ = [
    "CONTENT_TYPE",
    "REGISTRY",
    "AskReply",
    "AskRequest",
    "AssessReply",
    "AssessRequest",
    "Citation",
    "Contract",
    "DeliverWebhook",
    "DocumentIndexed",
    "DocumentSource",
    "EmbedChunks",
    "Envelope",
    "Evidence",
    "HuntReply",
    "HuntRequest",
    "IngestDocument",
    "InvalidEnvelope",
    "Lead",
    "LeadSource",
    "MessageFaulted",
    "MessageKind",
    "MessageRegistry",
    "Progress",
    "RpcError",
    "RubricFactor",
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

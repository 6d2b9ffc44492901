"""tradebus message contracts: the CloudEvents envelope, payload models and their registry."""

from ._base import Contract, MessageKind
from ._envelope import CONTENT_TYPE, Envelope, InvalidEnvelope, new_message_id
from ._registry import MessageRegistry, UnknownMessageType, is_valid_message_type
from .dealbrain import AskReply, AskRequest, Citation, RpcError
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
from .tasks import Progress, TaskError, TaskStatus, TaskStatusChanged

REGISTRY = MessageRegistry(
    [
        IngestDocument,
        EmbedChunks,
        DocumentIndexed,
        TaskStatusChanged,
        MessageFaulted,
        AskRequest,
        AskReply,
        RpcError,
    ]
)

__all__ = [
    "CONTENT_TYPE",
    "REGISTRY",
    "AskReply",
    "AskRequest",
    "Citation",
    "Contract",
    "DocumentIndexed",
    "DocumentSource",
    "EmbedChunks",
    "Envelope",
    "IngestDocument",
    "InvalidEnvelope",
    "MessageFaulted",
    "MessageKind",
    "MessageRegistry",
    "Progress",
    "RpcError",
    "TaskError",
    "TaskStatus",
    "TaskStatusChanged",
    "TextSource",
    "UnknownMessageType",
    "UploadSource",
    "UrlSource",
    "is_valid_message_type",
    "new_message_id",
]

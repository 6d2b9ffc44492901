"""omnirag-embed's pure logic: when a batch is work, when a document is complete."""

from .progress import (
    SKIP,
    batch_is_runnable,
    document_complete,
    indexed_message_id,
    indexed_result,
)

__all__ = [
    "SKIP",
    "batch_is_runnable",
    "document_complete",
    "indexed_message_id",
    "indexed_result",
]

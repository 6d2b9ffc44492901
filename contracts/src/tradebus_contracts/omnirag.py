"""omniRAG ingestion: commands between gateway, omnirag-ingest and omnirag-embed, and the
event downstream teams subscribe to when a document becomes searchable."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, Field

from ._base import Contract, MessageKind


class TextSource(BaseModel):
    kind: Literal["text"] = "text"
    text: str = Field(..., min_length=1, description="Inline text (small documents only).")


class UploadSource(BaseModel):
    kind: Literal["upload"] = "upload"
    blob_id: str = Field(..., description="GridFS id of the stored upload.")
    filename: str
    content_type: str = Field(..., examples=["application/pdf"])


class UrlSource(BaseModel):
    kind: Literal["url"] = "url"
    url: str = Field(..., examples=["https://example.com/incoterms.html"])


DocumentSource = Annotated[TextSource | UploadSource | UrlSource, Field(discriminator="kind")]


class IngestDocument(Contract):
    """Fetch, parse, chunk and store one document; then have its chunks embedded."""

    message_type: ClassVar[str] = "omnirag.document.ingest.v1"
    kind: ClassVar[MessageKind] = MessageKind.COMMAND

    task_id: str
    tenant_id: str
    document_id: str
    title: str = Field(..., max_length=500)
    source: DocumentSource
    metadata: dict[str, str] = Field(default_factory=dict)
    idempotency_key: str | None = None


class EmbedChunks(Contract):
    """Embed one batch of stored chunks (references, not text)."""

    message_type: ClassVar[str] = "omnirag.chunks.embed.v1"
    kind: ClassVar[MessageKind] = MessageKind.COMMAND

    task_id: str
    tenant_id: str
    document_id: str
    batch_index: int = Field(..., ge=0)
    batch_count: int = Field(..., ge=1)
    chunk_ids: list[str] = Field(..., min_length=1)


class DocumentIndexed(Contract):
    """Every chunk of a document is embedded and searchable."""

    message_type: ClassVar[str] = "omnirag.document.indexed.v1"
    kind: ClassVar[MessageKind] = MessageKind.EVENT

    tenant_id: str
    document_id: str
    task_id: str
    title: str
    chunk_count: int = Field(..., ge=0)
    indexed_at: datetime


class DocumentDeleted(Contract):
    """A document was deleted: no answer may cite it from now on. Every replica that
    holds an in-memory index drops it; omnirag-ingest then removes its chunks, vectors and
    stored source."""

    message_type: ClassVar[str] = "omnirag.document.deleted.v1"
    kind: ClassVar[MessageKind] = MessageKind.EVENT

    tenant_id: str
    document_id: str
    deleted_at: datetime
    chunk_count: int = Field(..., ge=0, description="Chunks of the version that was live.")

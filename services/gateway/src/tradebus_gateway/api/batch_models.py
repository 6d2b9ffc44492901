"""The bodies of `POST /v1/rag/batches`: many documents, one parent task."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tradebus_contracts import TaskStatus

from .models import (
    METADATA_SCHEMA,
    PRIORITY_DESCRIPTION,
    DocumentIn,
    Metadata,
    Priority,
    PriorityField,
)

# The most any deployment may allow (the settings' bound); the OpenAPI document states
# the deployment's own `max_batch_documents`.
BATCH_DOCUMENTS_CAP = 10_000


BATCH_PRIORITY_DESCRIPTION = (
    f"Every document's, unless the document gives its own. {PRIORITY_DESCRIPTION}"
)
DOCUMENT_PRIORITY_DESCRIPTION = "This document's; defaults to the batch's `priority`."
PRIORITY_SCHEMA: dict[str, Any] = {
    "type": "string",
    "enum": [p.value for p in Priority],
    "default": Priority.NORMAL.value,
}


class BatchIn(BaseModel):
    """Documents as for `POST /v1/rag/documents`, each inline (`text`) or by `url`."""

    model_config = ConfigDict(extra="forbid")  # a misspelt `priorty` is an error, not normal

    documents: list[DocumentIn] = Field(..., min_length=1, max_length=BATCH_DOCUMENTS_CAP)
    priority: PriorityField = Field(Priority.NORMAL, description=BATCH_PRIORITY_DESCRIPTION)

    def priority_of(self, document: DocumentIn) -> Priority:
        """A document's own `priority` when it gives one, else the batch's."""
        return document.priority if "priority" in document.model_fields_set else self.priority


class FileDocument(BaseModel):
    """What a multipart batch says about one of its files (the same position)."""

    model_config = ConfigDict(extra="forbid")  # a misspelt `titel` is an error, not a no-op

    title: str | None = Field(None, min_length=1, max_length=500)
    metadata: Metadata = Field(default_factory=dict)


class BatchDocumentOut(BaseModel):
    task_id: str = Field(..., description="The document's own ingest task.")
    document_id: str


class BatchAccepted(BaseModel):
    task_id: str = Field(..., description="The batch's task: poll it for the aggregate status.")
    status: TaskStatus
    created: bool = Field(..., description="False when an Idempotency-Key matched a batch.")
    documents: list[BatchDocumentOut] = Field(
        ..., description="One per document, in the order given."
    )


def json_body_schema(max_documents: int) -> dict[str, Any]:
    schema = BatchIn.model_json_schema()
    documents = schema["properties"]["documents"]
    documents["maxItems"] = max_documents
    item = DocumentIn.model_json_schema()  # inline: no $defs to resolve
    item["properties"]["priority"] = {
        "type": "string",
        "enum": PRIORITY_SCHEMA["enum"],
        "description": DOCUMENT_PRIORITY_DESCRIPTION,
    }
    documents["items"] = item
    schema["properties"]["priority"] = {
        **PRIORITY_SCHEMA,
        "description": BATCH_PRIORITY_DESCRIPTION,
    }
    schema.pop("$defs", None)
    return schema


def form_body_schema(max_documents: int) -> dict[str, Any]:
    file_document = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "title": {"type": "string", "minLength": 1, "maxLength": 500},
            "metadata": METADATA_SCHEMA,
        },
    }
    return {
        "type": "object",
        "required": ["file"],
        "additionalProperties": False,
        "properties": {
            "file": {
                "type": "array",
                "minItems": 1,
                "maxItems": max_documents,
                "items": {"type": "string", "format": "binary", "minLength": 1},
                "description": "One part per document: txt, md, html or pdf.",
            },
            "documents": {
                "type": "array",
                "maxItems": max_documents,
                "items": file_document,
                "description": "A JSON array: item i titles and labels file i (the title "
                "defaults to the file name). Shorter than the files: the rest take the "
                "defaults; longer: refused.",
            },
            "priority": {**PRIORITY_SCHEMA, "description": f"Every file's. {PRIORITY_DESCRIPTION}"},
        },
    }

"""`POST /v1/rag/documents`: submit a document for ingestion (JSON or multipart upload)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response

from tradebus_contracts import TextSource, UploadSource, UrlSource
from tradebus_knowledge import UnsupportedFormat, detect_format
from tradebus_storage import Task

from ..admission_gate import ADMITTED
from ..deps import State, Tenant
from ..errors import ApiError, describe, responses
from ..state import GatewayState
from ..submission import INGEST_KIND, document_id_of, submit_ingest
from .intake import (
    FORM_OVERHEAD_BYTES,
    form_file,
    form_metadata,
    form_priority,
    form_title,
    read_form,
    read_json,
    too_large,
)
from .models import METADATA_SCHEMA, PRIORITY_DESCRIPTION, DocumentIn, Priority, TaskAccepted

router = APIRouter(prefix="/v1/rag", tags=["rag"])

INLINE_FILENAME = "inline.txt"
CONTENT_TYPES = {
    "txt": "text/plain",
    "md": "text/markdown",
    "html": "text/html",
    "pdf": "application/pdf",
}

_OPENAPI_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": DocumentIn.model_json_schema(ref_template="#/components/schemas/{model}"),
                "example": {
                    "title": "FOB terms",
                    "text": "FOB: the seller delivers...",
                    "metadata": {"region": "EU"},
                },
            },
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    # Exactly these fields: an unknown one is refused, not ignored.
                    "additionalProperties": False,
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "minLength": 1,
                            "description": "txt, md, html or pdf, at most MAX_UPLOAD_BYTES",
                        },
                        "title": {
                            "type": "string",
                            "maxLength": 500,
                            "description": "Defaults to the file name.",
                        },
                        "metadata": {
                            **METADATA_SCHEMA,
                            "description": "A JSON object, as for a JSON submission.",
                        },
                        "priority": {
                            "type": "string",
                            "enum": [p.value for p in Priority],
                            "default": Priority.NORMAL.value,
                            "description": PRIORITY_DESCRIPTION,
                        },
                    },
                },
                "encoding": {
                    "file": {"contentType": ", ".join(CONTENT_TYPES.values())},
                    "metadata": {"contentType": "application/json"},
                },
            },
        },
    }
}


@router.post(
    "/documents",
    status_code=202,
    dependencies=[ADMITTED],  # a full backlog refused before the rate limit (Redis)
    response_model=TaskAccepted,
    summary="Submit a document for ingestion; returns a task id at once",
    openapi_extra=_OPENAPI_BODY,
    responses={
        202: {
            "description": "Accepted: poll the task at the Location header",
            "headers": {
                "Location": {"description": "/v1/tasks/{id}", "schema": {"type": "string"}}
            },
        },
        **responses(401, 413, 415, 422, 429, 503),
        409: describe(
            "The Idempotency-Key was used for another kind of request",
            "idempotency_conflict",
            "the Idempotency-Key names a task that is not a document",
        ),
    },
)
async def submit_document(
    request: Request,
    response: Response,
    state: State,
    tenant: Tenant,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            max_length=200,
            description="Same key, same task: safe client retries.",
        ),
    ] = None,
) -> TaskAccepted:
    state.admission.admit(tenant.tenant_id)  # before the body is even read
    content_type = request.headers.get("content-type", "")
    media = content_type.split(";")[0].strip().lower()
    source: TextSource | UploadSource | UrlSource
    if media == "multipart/form-data":
        source, title, metadata, priority = await _from_upload(request, state, tenant.tenant_id)
    elif media in ("application/json", ""):
        # JSON escapes may double a text's size (`\u4e2d` for 3 bytes of UTF-8).
        limit = 2 * state.settings.max_upload_bytes + FORM_OVERHEAD_BYTES
        document = await read_json(request, limit)
        title, metadata, priority = document.title, document.metadata, document.priority
        if document.text is None:
            source = UrlSource(url=str(document.url))
        else:
            source = await store_inline(document.text, state, tenant.tenant_id)
    else:
        raise ApiError(
            415,
            "unsupported_type",
            f"send application/json or multipart/form-data, not {content_type[:100]!r}",
        )
    try:
        task, created = await _submit(
            state, tenant.tenant_id, title, source, metadata, idempotency_key, priority
        )
    except ApiError:  # refused before anything refers to the blob
        await discard(state, source)
        raise
    if created:
        state.admission.published(tenant_id=tenant.tenant_id)
    else:
        await discard(state, source)  # the first submission's blob is the one
        if task.kind != INGEST_KIND:  # e.g. a batch's key: not this document's task
            raise ApiError(
                409,
                "idempotency_conflict",
                "the Idempotency-Key names a task that is not a document",
            )
    response.headers["Location"] = f"/v1/tasks/{task.id}"
    return TaskAccepted(
        task_id=task.id, status=task.status, document_id=document_id_of(task), created=created
    )


async def _submit(
    state: GatewayState,
    tenant_id: str,
    title: str,
    source: TextSource | UploadSource | UrlSource,
    metadata: dict[str, str],
    idempotency_key: str | None,
    priority: Priority = Priority.NORMAL,
) -> tuple[Task, bool]:
    if not state.bus.connected:
        retry_after = str(state.settings.unavailable_retry_after_seconds)
        raise ApiError(
            503, "unavailable", "message broker unavailable", headers={"Retry-After": retry_after}
        )
    return await submit_ingest(
        tasks=state.tasks,
        bus=state.bus,
        tenant_id=tenant_id,
        title=title,
        source=source,
        metadata=metadata,
        idempotency_key=idempotency_key,
        priority=priority.value,
    )


async def discard(state: GatewayState, source: TextSource | UploadSource | UrlSource) -> None:
    if isinstance(source, UploadSource):
        await state.blobs.delete(source.blob_id)


async def store_inline(text: str, state: GatewayState, tenant_id: str) -> TextSource | UploadSource:
    """Small text travels in the command; larger text is stored like an upload and
    travels by reference, so what is published stays small (limits in UTF-8 bytes)."""
    data = text.encode("utf-8")
    limit = state.settings.max_upload_bytes
    if len(data) > limit:
        raise too_large(limit, "inline text (UTF-8)")
    if len(data) <= state.settings.inline_text_max_publish_bytes:
        return TextSource(text=text)
    blob_id = await state.blobs.put(
        data, tenant_id=tenant_id, filename=INLINE_FILENAME, content_type="text/plain"
    )
    return UploadSource(blob_id=blob_id, filename=INLINE_FILENAME, content_type="text/plain")


async def _from_upload(
    request: Request, state: GatewayState, tenant_id: str
) -> tuple[UploadSource, str, dict[str, str], Priority]:
    limit = state.settings.max_upload_bytes
    form = await read_form(request, limit)
    try:
        upload = form_file(form)
        try:
            fmt = detect_format(upload.filename, upload.content_type)
        except UnsupportedFormat as exc:
            raise ApiError(415, "unsupported_type", str(exc)) from exc
        data = await upload.read(limit + 1)
        if len(data) > limit:
            raise too_large(limit, "upload")
        if not data:
            raise ApiError(422, "invalid_request", "file: the upload is empty")
        title = form_title(form, upload)
        metadata = form_metadata(form.get("metadata"))
        priority = form_priority(form.get("priority"))
    finally:
        await form.close()
    filename = (upload.filename or f"upload.{fmt}")[:255]
    blob_id = await state.blobs.put(
        data, tenant_id=tenant_id, filename=filename, content_type=CONTENT_TYPES[fmt]
    )
    return (
        UploadSource(blob_id=blob_id, filename=filename, content_type=CONTENT_TYPES[fmt]),
        title,
        metadata,
        priority,
    )

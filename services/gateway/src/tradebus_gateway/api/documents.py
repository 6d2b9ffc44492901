"""`POST /v1/rag/documents`: submit a document for ingestion (JSON or multipart upload)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from tradebus_contracts import TextSource, UploadSource, UrlSource
from tradebus_knowledge import UnsupportedFormat, detect_format

from ..deps import State, Tenant
from ..errors import ApiError, responses
from ..state import GatewayState
from ..submission import document_id_of, submit_ingest
from .models import DocumentIn, TaskAccepted

router = APIRouter(prefix="/v1/rag", tags=["rag"])

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
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "txt, md, html or pdf",
                        },
                        "title": {"type": "string", "maxLength": 500},
                        "metadata": {
                            "type": "string",
                            "description": "JSON object of string values",
                        },
                    },
                }
            },
        },
    }
}


@router.post(
    "/documents",
    status_code=202,
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
    _admit(state)
    content_type = request.headers.get("content-type", "")
    source: TextSource | UploadSource | UrlSource
    if content_type.startswith("multipart/form-data"):
        source, title, metadata = await _from_upload(request, state, tenant.tenant_id)
    elif content_type.split(";")[0].strip() in ("application/json", ""):
        document = _parse_json(await _read_limited(request, state))
        source = (
            TextSource(text=document.text)
            if document.text is not None
            else UrlSource(url=str(document.url))
        )
        if document.text is not None and len(document.text) > state.settings.max_inline_text_chars:
            raise ApiError(413, "too_large", "inline text too long; upload it as a file")
        title, metadata = document.title, document.metadata
    else:
        raise ApiError(
            415,
            "unsupported_type",
            f"send application/json or multipart/form-data, not {content_type!r}",
        )
    if not state.bus.connected:
        retry_after = str(state.settings.unavailable_retry_after_seconds)
        raise ApiError(
            503, "unavailable", "message broker unavailable", headers={"Retry-After": retry_after}
        )
    task, created = await submit_ingest(
        tasks=state.tasks,
        bus=state.bus,
        tenant_id=tenant.tenant_id,
        title=title,
        source=source,
        metadata=metadata,
        idempotency_key=idempotency_key,
    )
    if created:
        state.admission.published()
    elif isinstance(source, UploadSource):
        await state.blobs.delete(source.blob_id)  # the first submission's upload is the one
    response.headers["Location"] = f"/v1/tasks/{task.id}"
    return TaskAccepted(
        task_id=task.id, status=task.status, document_id=document_id_of(task), created=created
    )


def _admit(state: GatewayState) -> None:
    wait = state.admission.check()
    if wait:
        raise ApiError(
            429,
            "overloaded",
            "ingestion backlog is full; retry later",
            headers={"Retry-After": str(wait)},
        )


async def _read_limited(request: Request, state: GatewayState) -> bytes:
    limit = state.settings.max_upload_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, "too_large", f"request exceeds {limit} bytes")
    body = bytearray()
    async for part in request.stream():
        body += part
        if len(body) > limit:
            raise ApiError(413, "too_large", f"request exceeds {limit} bytes")
    return bytes(body)


def _parse_json(body: bytes) -> DocumentIn:
    try:
        return DocumentIn.model_validate_json(body or b"{}")
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise ApiError(422, "invalid_request", f"{where}: {first['msg']}") from exc


async def _from_upload(
    request: Request, state: GatewayState, tenant_id: str
) -> tuple[UploadSource, str, dict[str, str]]:
    limit = state.settings.max_upload_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + 64 * 1024:
        raise ApiError(413, "too_large", f"upload exceeds {limit} bytes")
    form = await request.form(max_files=1, max_fields=10)
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise ApiError(422, "invalid_request", "file: a multipart field named `file` is required")
    try:
        fmt = detect_format(upload.filename, upload.content_type)
    except UnsupportedFormat as exc:
        raise ApiError(415, "unsupported_type", str(exc)) from exc
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise ApiError(413, "too_large", f"upload exceeds {limit} bytes")
    if not data:
        raise ApiError(422, "invalid_request", "file: the upload is empty")
    title = str(form.get("title") or upload.filename or "untitled")[:500]
    metadata = _form_metadata(form.get("metadata"))
    filename = upload.filename or f"upload.{fmt}"
    blob_id = await state.blobs.put(
        data, tenant_id=tenant_id, filename=filename, content_type=CONTENT_TYPES[fmt]
    )
    return (
        UploadSource(blob_id=blob_id, filename=filename, content_type=CONTENT_TYPES[fmt]),
        title,
        metadata,
    )


def _form_metadata(raw: object) -> dict[str, str]:
    if raw is None or raw == "":
        return {}
    try:
        value = json.loads(str(raw))
    except json.JSONDecodeError as exc:
        raise ApiError(422, "invalid_request", "metadata: not valid JSON") from exc
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ApiError(422, "invalid_request", "metadata: must be an object of strings")
    return {str(k): v for k, v in value.items()}

"""Reading a batch: its documents as ingest sources, under the same limits as one
document (each at most `max_upload_bytes`, counted in bytes while the body streams in)
plus the batch's own (`max_batch_documents`, `max_batch_bytes`). Large inline text and
uploads are stored first and travel by reference; whatever was stored for a batch that
is then refused is deleted again (`discard_all`)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from fastapi import Request
from pydantic import TypeAdapter, ValidationError
from starlette.datastructures import FormData, UploadFile

from tradebus_contracts import TextSource, UploadSource, UrlSource
from tradebus_knowledge import UnsupportedFormat, detect_format

from ..errors import ApiError
from ..state import GatewayState
from .batch_models import BatchIn, FileDocument
from .documents import CONTENT_TYPES, discard, store_inline
from .intake import FORM_OVERHEAD_BYTES, form_priority, invalid, read_body, read_form, too_large
from .models import Priority

Source = TextSource | UploadSource | UrlSource
_FILE_DOCUMENTS: TypeAdapter[list[FileDocument]] = TypeAdapter(list[FileDocument])
FORM_FIELDS = frozenset({"file", "documents", "priority"})


@dataclass(frozen=True, slots=True)
class BatchDocument:
    title: str
    source: Source
    metadata: dict[str, str]
    priority: Priority = Priority.NORMAL


def _too_many(limit: int) -> ApiError:
    return ApiError(422, "invalid_request", f"documents: at most {limit} in one batch")


async def parse_json(request: Request, state: GatewayState) -> BatchIn:
    settings = state.settings
    # JSON escapes may double a text's size (`\u4e2d` for 3 bytes of UTF-8).
    body = await read_body(request, 2 * settings.max_batch_bytes + FORM_OVERHEAD_BYTES)
    try:
        batch = BatchIn.model_validate_json(body or b"{}")
    except ValidationError as exc:
        raise invalid(exc) from exc
    if len(batch.documents) > settings.max_batch_documents:
        raise _too_many(settings.max_batch_documents)
    total = sum(len((d.text or "").encode("utf-8")) for d in batch.documents)
    if total > settings.max_batch_bytes:
        raise too_large(settings.max_batch_bytes, "the batch's inline text (UTF-8)")
    return batch


async def store_json(batch: BatchIn, state: GatewayState, tenant_id: str) -> list[BatchDocument]:
    stored: list[BatchDocument] = []
    try:
        for document in batch.documents:
            source: Source
            if document.text is None:
                source = UrlSource(url=str(document.url))
            else:
                source = await store_inline(document.text, state, tenant_id)
            priority = batch.priority_of(document)
            stored.append(BatchDocument(document.title, source, document.metadata, priority))
    except BaseException:
        await discard_all(state, stored)
        raise
    return stored


async def parse_form(request: Request, state: GatewayState) -> FormData:
    settings = state.settings
    form = await read_form(request, settings.max_batch_bytes, settings.max_batch_documents)
    unknown = sorted(set(form.keys()) - FORM_FIELDS)
    if unknown:
        await form.close()
        raise ApiError(422, "invalid_request", f"{unknown[0][:64]}: unknown form field")
    return form


async def store_form(form: FormData, state: GatewayState, tenant_id: str) -> list[BatchDocument]:
    """Every file checked (type, size, not empty) and the files' bytes in all (the
    body's bound leaves room for the framing) before any is stored."""
    limit, batch_limit = state.settings.max_upload_bytes, state.settings.max_batch_bytes
    total = 0
    files = form.getlist("file")
    if not files or not all(isinstance(f, UploadFile) for f in files):
        raise ApiError(422, "invalid_request", "file: give one or more files")
    described = _file_documents(form.getlist("documents"), len(files))
    priority = _form_priority(form.getlist("priority"))
    read: list[tuple[UploadFile, str, bytes]] = []
    for upload in files:
        assert isinstance(upload, UploadFile)
        try:
            fmt = detect_format(upload.filename, upload.content_type)
        except UnsupportedFormat as exc:
            raise ApiError(415, "unsupported_type", f"file {len(read)}: {exc}") from exc
        data = await upload.read(limit + 1)
        if len(data) > limit:
            raise too_large(limit, f"file {len(read)}")
        if not data:
            raise ApiError(422, "invalid_request", f"file {len(read)}: the upload is empty")
        total += len(data)
        if total > batch_limit:
            raise too_large(batch_limit, "the batch's files")
        read.append((upload, fmt, data))
    stored: list[BatchDocument] = []
    try:
        for index, (upload, fmt, data) in enumerate(read):
            filename = (upload.filename or f"upload.{fmt}")[:255]
            blob_id = await state.blobs.put(
                data, tenant_id=tenant_id, filename=filename, content_type=CONTENT_TYPES[fmt]
            )
            source = UploadSource(
                blob_id=blob_id, filename=filename, content_type=CONTENT_TYPES[fmt]
            )
            about = described[index] if index < len(described) else FileDocument()
            title = about.title or (upload.filename or "untitled")[:500]
            stored.append(BatchDocument(title, source, about.metadata, priority))
    except BaseException:
        await discard_all(state, stored)
        raise
    return stored


def _file_documents(parts: list[str | UploadFile], files: int) -> list[FileDocument]:
    if not parts:
        return []
    if len(parts) > 1 or isinstance(parts[0], UploadFile):
        raise ApiError(422, "invalid_request", "documents: one text field holding a JSON array")
    try:
        raw = json.loads(parts[0])
    except json.JSONDecodeError as exc:
        raise ApiError(422, "invalid_request", "documents: not valid JSON") from exc
    # Counted before validating: a long array of `{}` is refused at once.
    if isinstance(raw, list) and len(raw) > files:
        raise ApiError(422, "invalid_request", f"documents: {len(raw)} items for {files} files")
    try:
        return _FILE_DOCUMENTS.validate_python(raw)
    except ValidationError as exc:
        raise invalid(exc, "documents") from exc


def _form_priority(parts: list[str | UploadFile]) -> Priority:
    if len(parts) > 1:
        raise ApiError(422, "invalid_request", "priority: give it once")
    return form_priority(parts[0] if parts else None)


async def discard_all(state: GatewayState, documents: list[BatchDocument]) -> None:
    for document in documents:
        await discard(state, document.source)

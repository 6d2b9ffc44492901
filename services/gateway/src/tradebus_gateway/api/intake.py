"""Reading a submission's body under byte limits, counted while it streams in: a client
that sends no Content-Length (chunked) or a false one is cut off at the limit, before
the rest is read, let alone spooled to disk."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from typing import Any

from fastapi import Request
from pydantic import TypeAdapter, ValidationError
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from ..errors import ApiError
from .models import DocumentIn, Metadata, Priority

# Room for the multipart framing, the title and the metadata around the file.
FORM_OVERHEAD_BYTES = 64 * 1024
TITLE_MAX_CHARS = 500
_METADATA: TypeAdapter[dict[str, str]] = TypeAdapter(Metadata)


def too_large(limit: int, what: str = "request") -> ApiError:
    return ApiError(413, "too_large", f"{what} exceeds {limit} bytes")


class _Limited:
    """The request body as chunks, refusing past `limit` bytes."""

    def __init__(self, request: Request, limit: int) -> None:
        self.request, self.limit, self.seen, self.exceeded = request, limit, 0, False

    async def chunks(self) -> AsyncGenerator[bytes, None]:
        declared = self.request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.limit:
            self.exceeded = True
        else:
            async for chunk in self.request.stream():
                self.seen += len(chunk)
                if self.seen > self.limit:
                    self.exceeded = True
                    break
                yield chunk
        if self.exceeded:
            # Raised inside the parser's read loop so it closes what it spooled.
            raise MultiPartException("too large")


async def read_body(request: Request, limit: int) -> bytes:
    body = bytearray()
    limited = _Limited(request, limit)
    try:
        async for chunk in limited.chunks():
            body += chunk
    except MultiPartException as exc:
        raise too_large(limit) from exc
    return bytes(body)


async def read_json(request: Request, limit: int) -> DocumentIn:
    body = await read_body(request, limit)
    try:
        return DocumentIn.model_validate_json(body or b"{}")
    except ValidationError as exc:
        raise invalid(exc) from exc


def invalid(exc: ValidationError, prefix: str = "") -> ApiError:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in (prefix, *first["loc"]) if p != "") or "body"
    return ApiError(422, "invalid_request", f"{where}: {first['msg']}")


async def read_form(request: Request, file_limit: int, max_files: int = 1) -> FormData:
    """The multipart form; the file itself is checked against `file_limit` by the caller
    (the whole body is bounded by it plus the form overhead)."""
    limit = file_limit + FORM_OVERHEAD_BYTES
    limited = _Limited(request, limit)
    parser = MultiPartParser(request.headers, limited.chunks(), max_files=max_files, max_fields=10)
    try:
        return await parser.parse()
    except MultiPartException as exc:
        if limited.exceeded:
            raise too_large(file_limit, "upload") from exc
        raise ApiError(422, "invalid_request", f"multipart body: {exc.message}") from exc
    except (KeyError, ValueError) as exc:  # no or a broken Content-Type boundary
        raise ApiError(422, "invalid_request", "multipart body: malformed") from exc


FORM_FIELDS = frozenset({"file", "title", "metadata", "priority"})


def form_file(form: FormData) -> UploadFile:
    unknown = sorted(set(form.keys()) - FORM_FIELDS)
    if unknown:
        raise ApiError(422, "invalid_request", f"{unknown[0][:64]}: unknown form field")
    if len(form.getlist("file")) > 1:
        raise ApiError(422, "invalid_request", "file: give one file")
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise ApiError(422, "invalid_request", "file: a multipart field named `file` is required")
    return upload


def form_title(form: FormData, upload: UploadFile) -> str:
    title = form.get("title")
    if isinstance(title, UploadFile):
        raise ApiError(422, "invalid_request", "title: must be a text field")
    if title is not None and len(title) > TITLE_MAX_CHARS:
        raise ApiError(422, "invalid_request", f"title: at most {TITLE_MAX_CHARS} characters")
    return title or (upload.filename or "untitled")[:TITLE_MAX_CHARS]


def form_metadata(raw: object) -> dict[str, str]:
    if raw is None or raw == "":
        return {}
    if isinstance(raw, UploadFile):
        raise ApiError(422, "invalid_request", "metadata: must be a text field")
    try:
        value: Any = json.loads(str(raw))
    except json.JSONDecodeError as exc:
        raise ApiError(422, "invalid_request", "metadata: not valid JSON") from exc
    try:
        return _METADATA.validate_python(value)
    except ValidationError as exc:
        raise invalid(exc, "metadata") from exc


def form_priority(raw: object) -> Priority:
    if raw is None or raw == "":
        return Priority.NORMAL
    if isinstance(raw, UploadFile):
        raise ApiError(422, "invalid_request", "priority: must be a text field")
    try:
        return Priority(str(raw))
    except ValueError as exc:
        choices = ", ".join(p.value for p in Priority)
        raise ApiError(422, "invalid_request", f"priority: one of {choices}") from exc

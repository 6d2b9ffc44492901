"""Submission bodies: byte limits counted while streaming (whatever Content-Length
says), strict metadata, and inline text measured and routed by its UTF-8 size."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pytest
from pydantic import ValidationError
from starlette.requests import Request

from tradebus_contracts import TextSource, UploadSource
from tradebus_gateway.api import documents
from tradebus_gateway.api.intake import form_metadata, read_form, read_json
from tradebus_gateway.api.models import DocumentIn
from tradebus_gateway.errors import ApiError
from tradebus_gateway.settings import GatewaySettings

BOUNDARY = "xYzZY"


def request(chunks: Iterable[bytes], headers: dict[str, str]) -> tuple[Request, list[int]]:
    """A request whose body arrives in `chunks`; the list counts the chunks read."""
    pending = list(chunks)
    read: list[int] = []

    async def receive() -> dict[str, Any]:
        if not pending:
            return {"type": "http.request", "body": b"", "more_body": False}
        read.append(1)
        body = pending.pop(0)
        return {"type": "http.request", "body": body, "more_body": bool(pending)}

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/rag/documents",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }
    return Request(scope, receive), read


def multipart(file: bytes, *, title: str = "t", metadata: str | None = None) -> bytes:
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="title"\r\n\r\n{title}\r\n'.encode()
    ]
    if metadata is not None:
        parts.append(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n'
            f"{metadata}\r\n".encode()
        )
    parts.append(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n'
        "Content-Type: text/plain\r\n\r\n".encode()
        + file
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )
    return b"".join(parts)


FORM = {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}


async def test_a_chunked_upload_without_content_length_is_cut_off_at_the_limit() -> None:
    body = multipart(b"x" * 2_000_000)
    chunks = [body[i : i + 65_536] for i in range(0, len(body), 65_536)]
    req, read = request(chunks, FORM)  # no Content-Length at all
    with pytest.raises(ApiError) as refused:
        await read_form(req, file_limit=100_000)
    assert refused.value.status == 413
    # Stopped soon after the limit (+ the form's overhead), not after the whole body.
    assert len(read) * 65_536 <= 100_000 + 64 * 1024 + 2 * 65_536 < len(body)


async def test_a_false_small_content_length_does_not_lift_the_limit() -> None:
    body = multipart(b"x" * 500_000)
    req, _ = request([body], {**FORM, "content-length": "10"})
    with pytest.raises(ApiError) as refused:
        await read_form(req, file_limit=100_000)
    assert refused.value.status == 413


async def test_a_declared_oversize_body_is_refused_before_reading() -> None:
    req, read = request([b"{}"], {"content-type": "application/json", "content-length": "999999"})
    with pytest.raises(ApiError) as refused:
        await read_json(req, limit=1000)
    assert refused.value.status == 413 and read == []


async def test_an_upload_within_the_limit_is_parsed() -> None:
    req, _ = request([multipart(b"hello", metadata='{"region": "EU"}')], FORM)
    form = await read_form(req, file_limit=100_000)
    assert form["title"] == "t"
    assert form_metadata(form["metadata"]) == {"region": "EU"}
    await form.close()


async def test_a_malformed_multipart_body_is_a_422_not_a_500() -> None:
    req, _ = request([b"--nope\r\ngarbage"], {"content-type": "multipart/form-data"})
    with pytest.raises(ApiError) as refused:
        await read_form(req, file_limit=100_000)
    assert refused.value.status == 422


@pytest.mark.parametrize(
    "metadata",
    [
        {"a\x00b": "v"},
        {"k": "v\x00"},
        {"$where": "v"},
        {"a.b": "v"},
        {"": "v"},
        {"k" * 65: "v"},
        {"k": "v" * 1025},
        {"k": "line\nbreak"},
        {"k": "c1 control \x85"},
        {f"k{i}": "v" for i in range(33)},
    ],
)
def test_metadata_that_mongodb_or_the_limits_would_refuse_is_a_validation_error(
    metadata: dict[str, str],
) -> None:
    with pytest.raises(ValidationError):
        DocumentIn(title="t", text="x", metadata=metadata)
    with pytest.raises(ApiError) as refused:
        import json

        form_metadata(json.dumps(metadata))
    assert refused.value.status == 422


def test_reasonable_metadata_is_accepted() -> None:
    metadata = {"region": "EU", "deal-id": "D-42", "source:system": "crm", "x_1": "ünïcode 中文"}
    assert DocumentIn(title="t", text="x", metadata=metadata).metadata == metadata


@dataclass
class Blobs:
    stored: list[tuple[bytes, str, str]] = field(default_factory=list)

    async def put(self, data: bytes, *, tenant_id: str, filename: str, content_type: str) -> str:
        self.stored.append((data, tenant_id, content_type))
        return f"blob-{len(self.stored)}"


@dataclass
class State:
    settings: GatewaySettings
    blobs: Blobs = field(default_factory=Blobs)


def state(**settings: Any) -> Any:
    return State(GatewaySettings(**settings))


CJK = "中" * 400_000  # 400,000 characters, 1.2 MB of UTF-8


async def test_cjk_inline_text_is_measured_in_utf8_bytes_and_goes_by_reference() -> None:
    s = state(max_upload_bytes=10 * 1024 * 1024, inline_text_max_publish_bytes=256 * 1024)
    source = await documents.store_inline(CJK, s, "acme")
    assert isinstance(source, UploadSource) and source.content_type == "text/plain"
    assert s.blobs.stored == [(CJK.encode(), "acme", "text/plain")]


async def test_small_inline_text_travels_in_the_command() -> None:
    s = state()
    assert await documents.store_inline("FOB: the seller delivers", s, "acme") == TextSource(
        text="FOB: the seller delivers"
    )
    assert s.blobs.stored == []


async def test_inline_text_over_the_document_limit_is_413_even_below_it_in_characters() -> None:
    s = state(max_upload_bytes=1024 * 1024)  # 1 MiB; the text is 400,000 characters
    with pytest.raises(ApiError) as refused:
        await documents.store_inline(CJK, s, "acme")
    assert refused.value.status == 413 and s.blobs.stored == []

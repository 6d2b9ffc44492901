"""Getting a document's bytes: inline text, a stored upload, or a URL under limits.

URLs go through a client on the `PinnedTransport` (every connection to a checked
address). Redirects are followed here, not by httpx, so each hop is validated (scheme,
count) before its request; its connection is checked and pinned by the transport.
Failures that retrying cannot fix raise `FetchRefused` (the message is parked)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx

from tradebus_contracts import TextSource, UploadSource, UrlSource
from tradebus_knowledge import UnsupportedFormat, detect_format
from tradebus_storage import BlobNotFound, BlobStore

from ..errors import FetchRefused

_REDIRECTS = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True, slots=True)
class Fetched:
    data: bytes
    fmt: str  # txt | md | html | pdf


@dataclass(frozen=True, slots=True)
class FetchLimits:
    timeout: float  # the whole fetch, every redirect hop included
    max_bytes: int
    max_redirects: int = 5


async def fetch(
    source: TextSource | UploadSource | UrlSource,
    *,
    tenant_id: str,
    blobs: BlobStore,
    http: httpx.AsyncClient,
    limits: FetchLimits,
) -> Fetched:
    if isinstance(source, TextSource):
        return Fetched(source.text.encode("utf-8"), "txt")
    if isinstance(source, UploadSource):
        try:
            blob = await blobs.get(source.blob_id, tenant_id=tenant_id)
        except BlobNotFound as exc:
            raise FetchRefused(
                f"upload {source.blob_id} not found", code="upload_not_found"
            ) from exc
        return Fetched(blob.data, _format(source.filename, source.content_type))
    return await fetch_url(source.url, http=http, limits=limits)


def _format(filename: str | None, content_type: str | None) -> str:
    try:
        return detect_format(filename, content_type)
    except UnsupportedFormat as exc:
        raise FetchRefused(str(exc), code="unsupported_format") from exc


def _checked_url(url: httpx.URL | str) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise FetchRefused(f"not a valid URL: {url}", code="url_invalid") from exc
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise FetchRefused(f"not an http(s) URL: {url}", code="url_invalid")
    if parsed.userinfo:  # credentials in a URL would be sent to wherever it redirects
        raise FetchRefused("URLs with credentials are not fetched", code="url_invalid")
    return parsed


async def fetch_url(url: str, *, http: httpx.AsyncClient, limits: FetchLimits) -> Fetched:
    """The client must be built on a `PinnedTransport` (see `app.build`)."""
    try:
        async with asyncio.timeout(limits.timeout):
            current = _checked_url(url)
            for _hop in range(limits.max_redirects + 1):
                result = await _get(current, http, limits)
                if isinstance(result, Fetched):
                    return result
                current = result
    except TimeoutError as exc:
        raise TimeoutError(f"fetching {url} took longer than {limits.timeout}s") from exc
    raise FetchRefused(
        f"{url} redirects more than {limits.max_redirects} times", code="too_many_redirects"
    )


async def _get(url: httpx.URL, http: httpx.AsyncClient, limits: FetchLimits) -> Fetched | httpx.URL:
    """One hop: the document, or the URL it redirects to."""
    async with http.stream("GET", url, follow_redirects=False) as response:
        status = response.status_code
        if status in _REDIRECTS:
            location = response.headers.get("location")
            if not location:
                raise FetchRefused(f"{url} redirects without a Location", code="fetch_refused")
            return _checked_url(url.join(location))
        if 400 <= status < 500 and status not in (408, 429):
            raise FetchRefused(f"{url} answered {status}", code="fetch_refused")
        response.raise_for_status()  # 5xx / 408 / 429: transient, retried with backoff
        if status >= 300:  # 300, 304 and the like: nothing to follow
            raise FetchRefused(f"{url} answered {status}", code="fetch_refused")
        fmt = _format(url.path, response.headers.get("content-type"))
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limits.max_bytes:
            raise FetchRefused(f"{url} is larger than {limits.max_bytes} bytes", code="too_large")
        body = bytearray()
        async for part in response.aiter_bytes():
            body += part
            if len(body) > limits.max_bytes:
                raise FetchRefused(
                    f"{url} is larger than {limits.max_bytes} bytes", code="too_large"
                )
        return Fetched(bytes(body), fmt)

"""Getting a document's bytes: inline text, a stored upload, or a URL under limits.
Failures that retrying cannot fix raise `PermanentError` (the message is parked)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from tradebus_contracts import TextSource, UploadSource, UrlSource
from tradebus_knowledge import UnsupportedFormat, detect_format
from tradebus_messaging import PermanentError
from tradebus_storage import BlobNotFound, BlobStore


@dataclass(frozen=True, slots=True)
class Fetched:
    data: bytes
    fmt: str  # txt | md | html | pdf


class FetchRefused(PermanentError):
    pass


@dataclass(frozen=True, slots=True)
class FetchLimits:
    timeout: float
    max_bytes: int
    allow_private: bool


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
            raise FetchRefused(f"upload {source.blob_id} not found") from exc
        return Fetched(blob.data, _format(source.filename, source.content_type))
    return await _fetch_url(source.url, http, limits)


def _format(filename: str | None, content_type: str | None) -> str:
    try:
        return detect_format(filename, content_type)
    except UnsupportedFormat as exc:
        raise FetchRefused(str(exc)) from exc


async def _fetch_url(url: str, http: httpx.AsyncClient, limits: FetchLimits) -> Fetched:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchRefused(f"not an http(s) URL: {url}")
    if not limits.allow_private:
        await _refuse_private(
            parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
        )
    try:
        async with asyncio.timeout(limits.timeout):
            async with http.stream("GET", url, follow_redirects=False) as response:
                if 400 <= response.status_code < 500 and response.status_code not in (408, 429):
                    raise FetchRefused(f"{url} answered {response.status_code}")
                response.raise_for_status()  # 5xx / 429: transient, retried with backoff
                if 300 <= response.status_code < 400:
                    raise FetchRefused(f"{url} redirects; submit the final address")
                fmt = _format(parts.path, response.headers.get("content-type"))
                declared = response.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > limits.max_bytes:
                    raise FetchRefused(f"{url} is larger than {limits.max_bytes} bytes")
                body = bytearray()
                async for part in response.aiter_bytes():
                    body += part
                    if len(body) > limits.max_bytes:
                        raise FetchRefused(f"{url} is larger than {limits.max_bytes} bytes")
    except TimeoutError as exc:
        raise TimeoutError(f"fetching {url} took longer than {limits.timeout}s") from exc
    return Fetched(bytes(body), fmt)


async def _refuse_private(host: str, port: int) -> None:
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise FetchRefused(f"cannot resolve {host}") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise FetchRefused(f"{host} resolves to a non-public address ({address})")

"""`tradebus` against the gateway app in-process: the gateway's own fixture, and a
transport that hands the command line's (synchronous) requests to that app on the test's
event loop while the command runs in a thread."""

from __future__ import annotations

import asyncio

import httpx
from fastapi import FastAPI

from tests.integration.gateway.conftest import ingest_consumer, make_gateway

__all__ = ["AppTransport", "ingest_consumer", "make_gateway"]


class AppTransport(httpx.BaseTransport):
    def __init__(self, app: FastAPI, loop: asyncio.AbstractEventLoop) -> None:
        self._asgi = httpx.ASGITransport(app=app)
        self._loop = loop

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()

        async def send() -> httpx.Response:
            forwarded = httpx.Request(
                request.method, request.url, headers=request.headers, content=body
            )
            response = await self._asgi.handle_async_request(forwarded)
            content = await response.aread()
            return httpx.Response(response.status_code, headers=response.headers, content=content)

        return asyncio.run_coroutine_threadsafe(send(), self._loop).result(timeout=60)

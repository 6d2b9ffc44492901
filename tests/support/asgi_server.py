"""A plain ASGI app served by uvicorn on a loopback port for the length of a block: the
tests' stand-ins for a webhook receiver, an alert channel, an OTLP collector."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, TypeVar

import uvicorn

App = TypeVar("App")


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # the test process's signals stay the test runner's


@contextlib.asynccontextmanager
async def running_asgi(make: Callable[[str], App]) -> AsyncIterator[App]:
    """`make(base_url)` builds the app once its port is known; it is served until the
    block ends."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    app = make(f"http://127.0.0.1:{sock.getsockname()[1]}")
    config = uvicorn.Config(
        app, lifespan="off", log_level="warning", access_log=False, timeout_graceful_shutdown=1
    )
    server = _Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        yield app
    finally:
        server.should_exit = True
        await task


async def read_body(receive: Any) -> bytes | None:
    """The request's whole body; None when the sender went away mid-request."""
    body = b""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        body += message.get("body", b"")
        if not message.get("more_body"):
            return body

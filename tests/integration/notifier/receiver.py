"""A local webhook receiver on loopback that answers as each test scripts it and verifies
every request the way a downstream team would, with the official `standardwebhooks`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from standardwebhooks.webhooks import Webhook


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    status: int
    at: float

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    url: str
    # answers to give, in order; the last one repeats
    statuses: list[int] = field(default_factory=lambda: [200])
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0

    def verified(self, secret: str) -> list[Any]:
        """Bodies of the accepted (2xx) requests, each verified with `secret`."""
        return [Webhook(secret).verify(r.body, r.headers) for r in self.received if r.status < 300]

    async def wait_for(self, count: int, timeout: float = 20) -> list[Received]:
        async with asyncio.timeout(timeout):
            while len(self.received) < count:
                await asyncio.sleep(0.02)
        return self.received

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                # The sender died mid-request (a SIGKILLed worker): a real receiver never
                # sees a whole request, so neither does this one.
                return
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
        finally:
            self.in_flight -= 1
        n = len(self.received)
        status = self.statuses[min(n, len(self.statuses) - 1)]
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        self.received.append(Received(headers, body, status, time.monotonic()))
        extra = [(k.encode(), v.encode()) for k, v in self.headers.items()]
        await send({"type": "http.response.start", "status": status, "headers": extra})
        await send({"type": "http.response.body", "body": b"ok" if status < 300 else b"nope"})


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def running_receiver(**behaviour: Any) -> AsyncIterator[Receiver]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    receiver = Receiver(url=f"http://127.0.0.1:{sock.getsockname()[1]}/hook", **behaviour)
    config = uvicorn.Config(
        receiver,
        lifespan="off",
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=1,
    )
    server = _Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        yield receiver
    finally:
        server.should_exit = True
        await task

"""A local webhook receiver on loopback that answers as each test scripts it and verifies
every request the way a downstream team would, with the official `standardwebhooks`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

from standardwebhooks.webhooks import Webhook

from tests.support.asgi_server import read_body, running_asgi


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
        body = await read_body(receive)
        if body is None:
            # The sender died mid-request (a SIGKILLed worker): a real receiver never
            # sees a whole request, so neither does this one.
            return
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


def running_receiver(**behaviour: Any) -> contextlib.AbstractAsyncContextManager[Receiver]:
    return running_asgi(lambda base: Receiver(url=f"{base}/hook", **behaviour))

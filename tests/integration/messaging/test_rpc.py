"""Request/reply over direct reply-to with deadlines."""

from __future__ import annotations

import asyncio

import pytest

from tests.support.contracts import Echo, EchoReply
from tradebus_messaging import DeadlineExceeded, MessageContext, RemoteError

from .conftest import eventually

pytestmark = pytest.mark.integration


class EchoServer:
    def __init__(self) -> None:
        self.started: list[str] = []
        self.handled: list[str] = []
        self.held = asyncio.Event()  # a request with the text "hold" waits for it
        self.held.set()

    async def __call__(self, req: Echo, ctx: MessageContext) -> EchoReply:
        self.started.append(req.text)
        if req.text == "hold":
            await self.held.wait()
        if req.sleep:
            await asyncio.sleep(req.sleep)
        self.handled.append(req.text)
        if req.fail:
            raise ValueError(f"cannot echo {req.text}")
        return EchoReply(text=req.text.upper())


@pytest.fixture
async def echo(make_bus, unique):
    server = EchoServer()
    bus = make_bus()
    bus.serve(
        queue=f"t-{unique}.echo",
        request_type=Echo.message_type,
        handler=server,
        prefetch=1,
        concurrency=1,
    )
    await bus.start()
    client = make_bus()
    await client.start()
    return server, client


async def test_request_gets_the_reply(echo) -> None:
    _, client = echo
    reply = await client.request(Echo(text="hello"), timeout=2, tenant_id="t1")
    assert reply == EchoReply(text="HELLO")


async def test_concurrent_requests_share_one_channel(echo, make_bus, unique) -> None:
    _, client = echo
    texts = [f"m{i}" for i in range(50)]
    replies = await asyncio.gather(*(client.request(Echo(text=t), timeout=5) for t in texts))
    assert [r.text for r in replies] == [t.upper() for t in texts]


async def test_handler_failure_is_an_error_reply_not_silence(echo) -> None:
    _, client = echo
    with pytest.raises(RemoteError) as info:
        await client.request(Echo(text="boom", fail=True), timeout=2)
    assert info.value.code == "internal"
    assert "cannot echo boom" in info.value.message
    assert info.value.retryable


async def test_deadline_exceeded_and_the_expired_request_is_dropped(echo) -> None:
    server, client = echo
    # The server handles one request at a time: "late" waits behind "hold" past its
    # deadline, and "hold" is released only then (an event, not a race of sleeps).
    server.held.clear()
    slow = asyncio.create_task(client.request(Echo(text="hold"), timeout=10))
    await eventually(lambda: server.started == ["hold"])
    with pytest.raises(DeadlineExceeded):
        await client.request(Echo(text="late"), timeout=0.3)
    server.held.set()
    assert (await slow).text == "HOLD"
    # One at a time, in order: once "after" is answered, "late" had its turn, and it
    # was dropped (by the broker's expiration or the runtime's deadline), not handled.
    assert (await client.request(Echo(text="after"), timeout=5)).text == "AFTER"
    assert server.started == ["hold", "after"]

"""Request/reply over direct reply-to with deadlines."""

from __future__ import annotations

import asyncio

import pytest

from tests.support.contracts import Echo, EchoReply
from tradebus_messaging import DeadlineExceeded, MessageContext, RemoteError

pytestmark = pytest.mark.integration


class EchoServer:
    def __init__(self) -> None:
        self.handled: list[str] = []

    async def __call__(self, req: Echo, ctx: MessageContext) -> EchoReply:
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
    # The server handles one request at a time: "late" waits behind "slow" past its deadline.
    slow = asyncio.create_task(client.request(Echo(text="slow", sleep=0.8), timeout=3))
    await asyncio.sleep(0.05)
    with pytest.raises(DeadlineExceeded):
        await client.request(Echo(text="late"), timeout=0.3)
    assert (await slow).text == "SLOW"
    await asyncio.sleep(0.5)
    assert "late" not in server.handled

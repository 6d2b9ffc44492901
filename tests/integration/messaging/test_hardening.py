"""The runtime at its edges: broker cancels, channel errors, requests nobody can
answer, handlers that never return, and messages that carry their task."""

from __future__ import annotations

import asyncio
from typing import Any

import aio_pika
import pytest

from tests.support.contracts import DoWork, Echo, EchoReply
from tradebus_contracts import Envelope
from tradebus_contracts.faults import MessageFaulted
from tradebus_messaging import MessageContext
from tradebus_messaging.parking import ParkingLot

from .conftest import eventually

pytestmark = pytest.mark.integration


class Effects:
    def __init__(self, sleep: float = 0.0) -> None:
        self.keys: list[str] = []
        self.contexts: list[MessageContext] = []
        self.sleep = sleep

    async def __call__(self, msg: DoWork, ctx: MessageContext) -> None:
        self.contexts.append(ctx)
        if msg.sleep:
            await asyncio.sleep(msg.sleep)
        self.keys.append(msg.key)


async def test_queue_deleted_under_the_consumer_comes_back_and_consumes(
    make_bus, unique, amqp
) -> None:
    bus = make_bus()
    handler = Effects()
    queue = f"t-{unique}.work"
    bus.subscribe(queue=queue, message_types=[DoWork.message_type], handler=handler)
    await bus.start()
    consumer = bus._consumers[0]
    settler = consumer._settler
    channel = await amqp.channel()
    await channel.queue_delete(queue)  # the broker sends basic.cancel
    # Re-established on a new channel with its queue re-declared (a new settler, not
    # a poll for the moment it was missing: it may be back before delete-ok arrives),
    # then a new message is consumed.
    await eventually(lambda: consumer._settler is not settler and consumer.alive, timeout=10)
    assert bus.readiness()[f"consumer:{queue}"]
    await bus.publish(DoWork(key="after-delete"))
    await eventually(lambda: handler.keys == ["after-delete"], timeout=5)
    assert bus.healthy()
    await channel.close()


async def test_channel_closed_by_a_406_re_establishes_the_consumer(make_bus, unique) -> None:
    bus = make_bus()
    handler = Effects()
    queue = f"t-{unique}.work"
    bus.subscribe(queue=queue, message_types=[DoWork.message_type], handler=handler)
    await bus.start()
    await bus.publish(DoWork(key="one"))
    await eventually(lambda: handler.keys == ["one"], timeout=5)
    consumer = bus._consumers[0]
    settler = consumer._settler
    assert settler is not None
    # Ack a tag that was never delivered: PRECONDITION_FAILED closes the channel.
    await settler.channel.basic_ack(999_999)
    await eventually(lambda: consumer._settler is not settler and consumer.alive, timeout=10)
    await bus.publish(DoWork(key="two"))
    # "one" was handled, but its ack may not have left before the bogus one closed
    # the channel: then it is redelivered (at least once), which is correct.
    await eventually(lambda: "two" in handler.keys, timeout=5)
    assert handler.keys[0] == "one" and set(handler.keys) == {"one", "two"}


async def test_a_consumer_missing_past_the_bound_makes_the_process_unhealthy(
    make_bus, unique, amqp
) -> None:
    bus = make_bus(consumer_missing_unhealthy_seconds=0.5)
    queue = f"t-{unique}.work"
    bus.subscribe(queue=queue, message_types=[DoWork.message_type], handler=Effects())
    await bus.start()
    assert bus.healthy()
    consumer = bus._consumers[0]
    # Keep it from coming back: every re-open fails as if the broker refused it.
    reopen_failures = 0

    async def refuse(channel: Any) -> None:
        nonlocal reopen_failures
        reopen_failures += 1
        raise RuntimeError("queue cannot be declared")

    consumer._prepare = refuse
    channel = await amqp.channel()
    await channel.queue_delete(queue)
    await eventually(lambda: not bus.healthy(), timeout=5)
    assert reopen_failures >= 1
    assert not bus.readiness()[f"consumer:{queue}"]
    await channel.close()


async def test_handler_past_its_time_limit_is_cancelled_retried_then_parked_as_timeout(
    make_bus, unique, amqp
) -> None:
    bus = make_bus(max_attempts=2)
    handler = Effects()
    queue = f"t-{unique}.work"
    faults: list[MessageFaulted] = []
    bus.subscribe(
        queue=queue,
        message_types=[DoWork.message_type],
        handler=handler,
        time_limit_seconds=0.3,
    )
    bus.subscribe(
        queue=f"t-{unique}.faults",
        message_types=[MessageFaulted.message_type],
        handler=lambda e, ctx: _append(faults, e),
    )
    await bus.start()
    await bus.publish(DoWork(key="stuck", sleep=30), task_id="task-42", tenant_id="t1")
    lot = ParkingLot(amqp, levels=bus.settings.delay_levels)
    await eventually(lambda: _count(lot, queue, 1), timeout=15)
    [parked] = await lot.list(queue)
    assert parked.reason == "timeout"
    assert parked.attempts == 2
    assert handler.keys == []  # cancelled both times, never finished
    assert [c.attempt for c in handler.contexts] == [1, 2]
    assert handler.contexts[1].is_last_attempt and not handler.contexts[0].is_last_attempt
    remaining = handler.contexts[0].remaining_seconds()
    assert remaining is not None and remaining <= 0.3
    # (other tests on this broker publish faulted events too)
    await eventually(lambda: [f for f in faults if f.queue == queue], timeout=5)
    [fault] = [f for f in faults if f.queue == queue]
    assert fault.task_id == "task-42" and fault.tenant_id == "t1"
    assert fault.reason == "timeout"


async def test_a_replayed_message_says_so_to_its_handler(make_bus, unique, amqp) -> None:
    bus = make_bus(max_attempts=1)
    queue = f"t-{unique}.work"
    seen: list[MessageContext] = []

    async def handler(msg: DoWork, ctx: MessageContext) -> None:
        seen.append(ctx)
        if not ctx.replayed:
            raise RuntimeError("fails until an operator replays it")

    bus.subscribe(queue=queue, message_types=[DoWork.message_type], handler=handler)
    await bus.start()
    await bus.publish(DoWork(key="x"))
    lot = ParkingLot(amqp, levels=bus.settings.delay_levels)
    await eventually(lambda: _count(lot, queue, 1), timeout=10)
    assert await lot.replay(queue) == 1
    await eventually(lambda: len(seen) == 2, timeout=10)
    assert [c.replayed for c in seen] == [False, True]
    await eventually(lambda: _count(lot, queue, 0), timeout=5)


async def test_rpc_request_without_reply_to_is_dropped_not_looped(make_bus, unique, amqp) -> None:
    calls: list[str] = []

    async def echo(req: Echo, ctx: MessageContext) -> EchoReply:
        calls.append(req.text)
        return EchoReply(text=req.text)

    bus = make_bus()
    queue = f"t-{unique}.echo"
    bus.serve(queue=queue, request_type=Echo.message_type, handler=echo)
    await bus.start()
    channel = await amqp.channel()
    headers = Envelope(type=Echo.message_type, source="test").to_headers()
    await channel.default_exchange.publish(
        aio_pika.Message(b'{"text": "nobody listens"}', headers=headers), routing_key=queue
    )
    # Malformed, with a reply_to: the caller gets an error reply and a copy is parked.
    reply_queue = await channel.declare_queue(exclusive=True)
    await channel.default_exchange.publish(
        aio_pika.Message(b"{not json", headers=headers, reply_to=reply_queue.name),
        routing_key=queue,
    )
    reply = await _get(reply_queue)
    assert reply.headers["x-tradebus-rpc-status"] == "error"
    assert reply.headers["x-tradebus-error-code"] == "invalid_request"
    lot = ParkingLot(amqp, levels=bus.settings.delay_levels)
    await eventually(lambda: _count(lot, queue, 1), timeout=5)
    declared = await channel.declare_queue(queue, passive=True)
    assert declared.declaration_result.message_count == 0  # nothing loops in the queue
    assert calls == []  # the request without reply_to was never worked on
    await channel.close()


async def _append(into: list[Any], item: Any) -> None:
    into.append(item)


async def _count(lot: ParkingLot, queue: str, expected: int) -> bool:
    return await lot.count(queue) == expected


async def _get(queue: aio_pika.abc.AbstractQueue) -> aio_pika.abc.AbstractIncomingMessage:
    for _ in range(100):
        msg = await queue.get(no_ack=True, fail=False)
        if msg is not None:
            return msg
        await asyncio.sleep(0.05)
    raise AssertionError("no reply")


async def test_a_database_outage_spends_time_not_attempts(make_bus, unique, amqp) -> None:
    from pymongo.errors import AutoReconnect, ServerSelectionTimeoutError

    bus = make_bus(max_attempts=2, outage_retry_cap_seconds=2)
    queue = f"t-{unique}.work"
    attempts: list[int] = []
    outage = [ServerSelectionTimeoutError("no primary"), AutoReconnect("reset")] * 2

    async def handler(msg: DoWork, ctx: MessageContext) -> None:
        attempts.append(ctx.attempt)
        if outage:
            assert not ctx.parks(outage[0])  # an outage never parks within the budget
            raise outage.pop(0)

    bus.subscribe(queue=queue, message_types=[DoWork.message_type], handler=handler)
    await bus.start()
    await bus.publish(DoWork(key="x"))
    await eventually(lambda: len(attempts) == 5, timeout=20)
    # Four outage failures with max_attempts=2: still attempt 1, nothing parked.
    assert attempts == [1] * 5
    lot = ParkingLot(amqp, levels=bus.settings.delay_levels)
    assert await lot.count(queue) == 0

"""Retries through the broker-side delay network, and the parking lot."""

from __future__ import annotations

import asyncio
import time
from typing import Any, ClassVar

import aio_pika
import pytest
from prometheus_client import REGISTRY

from tests.support.contracts import DoWork
from tradebus_contracts import Contract, Envelope, MessageKind
from tradebus_messaging import MessageContext, PermanentError, UnroutableMessage
from tradebus_messaging.parking import ParkingLot

from .conftest import eventually

pytestmark = pytest.mark.integration


class Recorder:
    """A test handler: fails as the message asks, records every attempt."""

    def __init__(self) -> None:
        self.attempts: list[tuple[str, int, float]] = []
        self.effects: list[str] = []
        self.broken = False

    async def __call__(self, msg: DoWork, ctx: MessageContext) -> None:
        self.attempts.append((msg.key, ctx.attempt, time.monotonic()))
        if msg.sleep:
            await asyncio.sleep(msg.sleep)
        if msg.permanent or self.broken:
            raise PermanentError(f"cannot do {msg.key}")
        if ctx.attempt <= msg.fail_times:
            raise RuntimeError(f"transient failure {ctx.attempt} of {msg.key}")
        self.effects.append(msg.key)


async def test_handler_failing_twice_then_succeeding_has_one_effect(make_bus, unique) -> None:
    bus = make_bus()
    handler = Recorder()
    queue = f"t-{unique}.work"
    bus.subscribe(queue=queue, message_types=[DoWork.message_type], handler=handler)
    await bus.start()
    await bus.publish(DoWork(key="a", fail_times=2), tenant_id="t1")
    await eventually(lambda: handler.effects, timeout=15)
    # Nothing more can arrive once all three deliveries are acked and exactly two
    # retry copies were made (both consumed): no sleep needed to show it.
    await eventually(lambda: _outcomes(queue, "acked") == 3, timeout=5)
    assert _outcomes(queue, "retried") == 2
    assert handler.effects == ["a"]
    assert [a for _, a, _ in handler.attempts] == [1, 2, 3]
    times = [t for _, _, t in handler.attempts]
    # Each retry waited in the delay network for at least its whole second (the
    # broker's TTL); a loaded machine only adds to that, so no upper bound here
    # (the jitter's range is tested on the policy itself).
    assert times[1] - times[0] >= 0.9
    assert times[2] - times[1] >= 0.9


def _outcomes(queue: str, outcome: str) -> float:
    value = REGISTRY.get_sample_value(
        "tradebus_messages_total", {"queue": queue, "outcome": outcome}
    )
    return value or 0.0


async def test_poison_message_is_parked_with_failure_headers_and_faulted_event(
    make_bus, unique, amqp
) -> None:
    from tradebus_contracts.faults import MessageFaulted

    bus = make_bus()
    handler = Recorder()
    faults: list[MessageFaulted] = []

    async def on_fault(event: MessageFaulted, ctx: MessageContext) -> None:
        if event.queue == f"t-{unique}.work":
            faults.append(event)

    bus.subscribe(queue=f"t-{unique}.work", message_types=[DoWork.message_type], handler=handler)
    bus.subscribe(
        queue=f"t-{unique}.faults", message_types=[MessageFaulted.message_type], handler=on_fault
    )
    await bus.start()
    sent = await bus.publish(DoWork(key="poison", fail_times=99), tenant_id="t1")
    lot = ParkingLot(amqp, levels=bus.settings.delay_levels)
    await eventually(lambda: lot.count(f"t-{unique}.work"), timeout=15)
    [parked] = await lot.list(f"t-{unique}.work")
    assert parked.message_id == sent.id
    assert parked.reason == "retries_exhausted"
    assert parked.attempts == 3
    assert parked.exception_type == "builtins.RuntimeError"
    assert "transient failure 3" in parked.exception_message
    assert parked.headers["x-tradebus-failed-service"] == bus.settings.service
    assert parked.headers["x-tradebus-original-routing-key"] == DoWork.message_type
    assert parked.headers["x-tradebus-original-exchange"] == "tradebus.commands"
    assert parked.first_failure_at and parked.last_failure_at
    assert parked.first_failure_at < parked.last_failure_at
    assert len(handler.attempts) == 3 and handler.effects == []
    await eventually(lambda: faults, timeout=5)
    assert faults[0].message_id == sent.id and faults[0].reason == "retries_exhausted"
    assert faults[0].tenant_id == "t1"


async def test_permanent_error_is_parked_on_the_first_attempt(make_bus, unique, amqp) -> None:
    bus = make_bus()
    handler = Recorder()
    bus.subscribe(queue=f"t-{unique}.work", message_types=[DoWork.message_type], handler=handler)
    await bus.start()
    await bus.publish(DoWork(key="bad", permanent=True))
    lot = ParkingLot(amqp, levels=bus.settings.delay_levels)
    await eventually(lambda: lot.count(f"t-{unique}.work"), timeout=5)
    [parked] = await lot.list(f"t-{unique}.work")
    assert parked.reason == "permanent" and parked.attempts == 1
    assert parked.exception_message == "cannot do bad"
    assert len(handler.attempts) == 1


async def test_malformed_messages_are_parked_and_consuming_continues(
    make_bus, unique, amqp
) -> None:
    bus = make_bus(max_body_bytes=2048, parked_body_max_bytes=1024)
    handler = Recorder()
    queue = f"t-{unique}.work"
    bus.subscribe(queue=queue, message_types=[DoWork.message_type], handler=handler)
    await bus.start()
    channel = await amqp.channel()

    async def send(body: bytes, headers: dict[str, Any]) -> None:
        await channel.default_exchange.publish(
            aio_pika.Message(body, headers=headers, delivery_mode=2), routing_key=queue
        )

    good = Envelope(type=DoWork.message_type, source="test").to_headers()
    await send(b"{not json", good)
    await send(b'{"key": 42, "fail_times": "many"}', good)
    await send(b'{"key": "' + b"x" * 4096 + b'"}', good)
    await send(b'{"key": "a"}', Envelope(type="test.work.done.v1", source="test").to_headers())
    await send(b'{"key": "a"}', {})
    # Hostile header values: each must be parked, never raise outside decoding and loop.
    await send(b'{"key": "b"}', good | {"x-tradebus-deadline": "nan"})
    await send(b'{"key": "c"}', good | {"cloudEvents:type": bytearray(b"\xff\xfe\xfd")})
    await send(b'{"key": "d"}', good | {"x-tradebus-attempt": "many"})
    # A deadline far in the future is not malformed: the message is handled.
    await send(b'{"key": "far"}', good | {"x-tradebus-deadline": 1e20})
    await bus.publish(DoWork(key="after-the-garbage"))

    await eventually(lambda: sorted(handler.effects) == ["after-the-garbage", "far"], timeout=5)
    lot = ParkingLot(amqp, levels=bus.settings.delay_levels)
    await eventually(lambda: _count_is(lot, queue, 8), timeout=5)
    parked = await lot.list(queue)
    reasons = sorted(p.reason for p in parked)
    assert reasons == ["malformed"] * 6 + ["too_large", "unknown_type"]
    too_large = next(p for p in parked if p.reason == "too_large")
    assert len(too_large.body) == 1024  # a bounded excerpt, not the whole body
    assert too_large.headers["x-tradebus-body-bytes"] == 4107
    messages = " | ".join(p.exception_message for p in parked)
    assert "exceeds the 2048-byte limit" in messages
    assert "message has no CloudEvents headers" in messages
    assert "key: Input should be a valid string" in messages
    assert "does not handle 'test.work.done.v1'" in messages
    await channel.close()


async def _count_is(lot: ParkingLot, queue: str, n: int) -> bool:
    return await lot.count(queue) == n


async def test_replay_sends_parked_messages_back_with_attempts_reset(
    make_bus, unique, amqp
) -> None:
    bus = make_bus()
    handler = Recorder()
    handler.broken = True
    queue = f"t-{unique}.work"
    bus.subscribe(queue=queue, message_types=[DoWork.message_type], handler=handler)
    await bus.start()
    for key in ("r1", "r2"):
        await bus.publish(DoWork(key=key))
    lot = ParkingLot(amqp, levels=bus.settings.delay_levels)
    await eventually(lambda: _count_is(lot, queue, 2), timeout=5)

    handler.broken = False  # the operator deployed a fix
    handler.attempts.clear()
    assert await lot.replay(queue) == 2
    await eventually(lambda: sorted(handler.effects) == ["r1", "r2"], timeout=5)
    assert {a for _, a, _ in handler.attempts} == {1}
    assert await lot.count(queue) == 0


async def test_replay_of_selected_ids_leaves_the_rest_parked(make_bus, unique, amqp) -> None:
    bus = make_bus()
    handler = Recorder()
    handler.broken = True
    queue = f"t-{unique}.work"
    bus.subscribe(queue=queue, message_types=[DoWork.message_type], handler=handler)
    await bus.start()
    first = await bus.publish(DoWork(key="s1"))
    await bus.publish(DoWork(key="s2"))
    lot = ParkingLot(amqp, levels=bus.settings.delay_levels)
    await eventually(lambda: _count_is(lot, queue, 2), timeout=5)
    handler.broken = False
    assert await lot.replay(queue, message_ids={first.id}) == 1
    await eventually(lambda: handler.effects == ["s1"], timeout=5)
    assert [p.message_type for p in await lot.list(queue)] == [DoWork.message_type]
    assert await lot.purge(queue) == 1
    assert await lot.count(queue) == 0


async def test_unroutable_command_raises_and_unrouted_event_does_not(make_bus, unique) -> None:
    class Orphan(Contract):
        message_type: ClassVar[str] = f"test.orphan{unique}.do.v1"
        kind: ClassVar[MessageKind] = MessageKind.COMMAND

    class Unheard(Contract):
        message_type: ClassVar[str] = f"test.unheard{unique}.happened.v1"
        kind: ClassVar[MessageKind] = MessageKind.EVENT

    bus = make_bus()
    await bus.start()
    with pytest.raises(UnroutableMessage):
        await bus.publish(Orphan())
    envelope = await bus.publish(Unheard())
    assert envelope.type == Unheard.message_type

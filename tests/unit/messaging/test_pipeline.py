"""The consumer pipeline's pure parts: decoding, the retry decision, settlement order."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.support.contracts import DoWork
from tradebus_contracts import Envelope
from tradebus_messaging.decode import Decoder, Rejected
from tradebus_messaging.errors import HandlerTimeout, OutageError, PermanentError
from tradebus_messaging.failures import FaultReason
from tradebus_messaging.retry import Park, Retry, RetryPolicy, is_outage
from tradebus_messaging.settle import Settler

NOW = datetime(2026, 1, 1, tzinfo=UTC)
DECODE = Decoder("svc.work", {DoWork.message_type: DoWork}, 1024, poison_redeliveries=3)
GOOD = Envelope(type=DoWork.message_type, source="test", task_id="t-1").to_headers()


def rejected(headers: dict[str, Any] | None, body: bytes = b'{"key": "a"}') -> Rejected:
    with pytest.raises(Rejected) as info:
        DECODE(headers, body)
    return info.value


def test_a_good_delivery_decodes_with_its_task() -> None:
    inbound = DECODE(GOOD | {"x-tradebus-attempt": 3}, b'{"key": "a"}')
    assert inbound.payload == DoWork(key="a")
    assert inbound.attempt == 3 and inbound.envelope.task_id == "t-1"
    assert not inbound.replayed


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, FaultReason.MALFORMED),
        (GOOD | {"cloudEvents:type": b"\xff\xfe"}, FaultReason.MALFORMED),
        (GOOD | {"x-tradebus-deadline": "inf"}, FaultReason.MALFORMED),
        (GOOD | {"x-tradebus-deadline": "soon"}, FaultReason.MALFORMED),
        (GOOD | {"x-tradebus-attempt": "many"}, FaultReason.MALFORMED),
        (GOOD | {"x-tradebus-first-failure-at": "yesterday"}, FaultReason.MALFORMED),
        (GOOD | {"x-delivery-count": 3}, FaultReason.DELIVERY_LIMIT),
        (GOOD | {"cloudEvents:type": "other.v1"}, FaultReason.UNKNOWN_TYPE),
    ],
)
def test_every_unreadable_header_is_a_fault_not_an_exception(
    headers: dict[str, Any], reason: FaultReason
) -> None:
    assert rejected(headers).fault.reason is reason


def test_far_future_deadline_is_clamped_not_an_overflow() -> None:
    inbound = DECODE(GOOD | {"x-tradebus-deadline": 1e20}, b'{"key": "a"}')
    assert inbound.deadline is not None and inbound.deadline.year == 9999


def test_oversized_and_invalid_bodies_keep_the_envelope_for_the_task() -> None:
    too_large = rejected(GOOD, b"x" * 2000)
    assert too_large.fault.reason is FaultReason.TOO_LARGE
    assert too_large.envelope is not None and too_large.envelope.task_id == "t-1"
    invalid = rejected(GOOD, b'{"key": 1}')
    assert invalid.fault.reason is FaultReason.MALFORMED
    assert invalid.envelope is not None


POLICY = RetryPolicy(3, 1.0, 60.0, outage_budget_seconds=600, outage_cap_seconds=30)


def decide(exc: BaseException, attempt: int = 1, first: datetime | None = None, n: int = 0):
    return POLICY.decide(
        exc, attempt=attempt, outage_retries=n, first_failure=first, now=NOW, rng=random.Random(1)
    )


def test_permanent_errors_park_and_attempts_run_out() -> None:
    assert decide(PermanentError("no")) == Park(FaultReason.PERMANENT)
    assert isinstance(decide(RuntimeError("x"), attempt=2), Retry)
    assert decide(RuntimeError("x"), attempt=3) == Park(FaultReason.RETRIES_EXHAUSTED)
    assert decide(HandlerTimeout("slow"), attempt=3) == Park(FaultReason.TIMEOUT)


def test_outages_spend_time_not_attempts() -> None:
    class ServerSelectionTimeoutError(Exception):  # stands in for pymongo's, by name
        pass

    ServerSelectionTimeoutError.__module__ = "pymongo.errors"
    ServerSelectionTimeoutError.__qualname__ = "ConnectionFailure"
    exc = ServerSelectionTimeoutError("no primary")
    assert is_outage(exc) and is_outage(OutageError("db")) and is_outage(ConnectionResetError())
    # On the last attempt, an outage still retries, attempts unchanged.
    retry = decide(exc, attempt=3, first=NOW - timedelta(seconds=300), n=7)
    assert isinstance(retry, Retry)
    assert retry.next_attempt == 3 and retry.outage_retries == 8
    assert 15 <= retry.delay_seconds <= 30
    # Past the budget it is a failure like any other.
    late = decide(exc, attempt=3, first=NOW - timedelta(seconds=601))
    assert late == Park(FaultReason.RETRIES_EXHAUSTED)


class FakeChannel:
    """Applies settlement frames like the broker, slowly, and refuses what it would."""

    def __init__(self) -> None:
        self.unsettled: set[int] = set()
        self.requeued: list[int] = []
        self.acked: list[int] = []
        self.errors: list[str] = []
        self.is_closed = False

    async def _write(self) -> None:
        await asyncio.sleep(random.random() * 0.002)  # a full frame queue: writes wait

    async def basic_ack(self, tag: int, multiple: bool = False, wait: bool = True) -> None:
        await self._write()
        tags = {t for t in self.unsettled if t <= tag} if multiple else {tag}
        if tag not in self.unsettled:
            self.errors.append(f"ack of unknown tag {tag}")
        self.unsettled -= tags
        self.acked.extend(tags)

    async def basic_nack(self, tag: int, requeue: bool = True, wait: bool = True) -> None:
        await self._write()
        if tag not in self.unsettled:
            self.errors.append(f"nack of settled tag {tag}")
        self.unsettled.discard(tag)
        self.requeued.append(tag)


async def test_settlement_frames_follow_the_order_of_decisions() -> None:
    raw = FakeChannel()
    settler = Settler(raw)  # type: ignore[arg-type]
    rng = random.Random(7)
    tags = list(range(1, 501))
    for tag in tags:
        raw.unsettled.add(tag)
        settler.delivered(tag)
    nacked = {t for t in tags if rng.random() < 0.3}
    order = tags[:]
    rng.shuffle(order)  # handlers finish in any order
    for tag in order:
        if tag in nacked:
            settler.nack(tag)
        else:
            settler.ack(tag)
        if rng.random() < 0.2:
            await asyncio.sleep(0)
    await settler.close()
    assert raw.errors == []
    assert sorted(raw.requeued) == sorted(nacked)
    assert sorted(raw.acked) == sorted(set(tags) - nacked)
    assert raw.unsettled == set()


async def test_start_up_rides_out_an_outage_but_not_a_bug() -> None:
    from tradebus_messaging.runner import build_riding_out_outages

    calls = 0

    async def flaky() -> Any:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise OutageError("database not reachable yet")
        return "worker"

    assert await build_riding_out_outages(flaky, budget=30) == "worker"
    assert calls == 3

    async def broken() -> Any:
        raise ValueError("bad configuration")

    with pytest.raises(ValueError):
        await build_riding_out_outages(broken, budget=30)

"""Dispatch (inbox, time limit) and outcomes (bounded parked copies, the faulted event
built from the fault) with stand-ins for the handler, the inbox and the publisher."""

from __future__ import annotations

import asyncio
import contextlib
from types import SimpleNamespace
from typing import Any

import pytest

from tests.support.contracts import DoWork
from tradebus_contracts import Envelope
from tradebus_contracts.faults import MessageFaulted
from tradebus_messaging.context import MessageContext
from tradebus_messaging.decode import Inbound
from tradebus_messaging.dispatch import Dispatcher
from tradebus_messaging.endpoint import Endpoint
from tradebus_messaging.errors import HandlerTimeout, PublishError
from tradebus_messaging.failures import Fault, FaultReason
from tradebus_messaging.metrics import QueueMetrics
from tradebus_messaging.outcomes import Outcomes
from tradebus_messaging.retry import Retry

ENVELOPE = Envelope(type=DoWork.message_type, source="test", tenant_id="t1", task_id="task-1")


async def _publish(*_: Any, **__: Any) -> Envelope:
    return ENVELOPE


def endpoint(handler: Any, *, limit: float = 5.0, inbox: bool = False) -> Endpoint:
    return Endpoint(
        queue="svc.work",
        exchange="tradebus.commands",
        models={DoWork.message_type: DoWork},
        handler=handler,
        prefetch=1,
        concurrency=1,
        time_limit_seconds=limit,
        use_inbox=inbox,
    )


def context(limit: float) -> MessageContext:
    return MessageContext(
        envelope=ENVELOPE,
        queue="svc.work",
        attempt=1,
        redelivered=False,
        deadline=None,
        session=None,
        _publish=_publish,
        time_limit=limit,
    )


async def test_a_handler_past_its_limit_is_cancelled_as_a_handler_timeout() -> None:
    cancelled = asyncio.Event()

    async def slow(msg: DoWork, ctx: MessageContext) -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    dispatch = Dispatcher(endpoint(slow, limit=0.05), None, _publish, QueueMetrics("svc.work"))
    with pytest.raises(HandlerTimeout):
        await dispatch(DoWork(key="a"), context(0.05))
    assert cancelled.is_set()


async def test_a_timeout_raised_by_the_handler_itself_is_not_the_time_limit() -> None:
    async def own_timeout(msg: DoWork, ctx: MessageContext) -> None:
        raise TimeoutError("the downstream's own timeout")

    dispatch = Dispatcher(endpoint(own_timeout), None, _publish, QueueMetrics("svc.work"))
    with pytest.raises(TimeoutError) as info:
        await dispatch(DoWork(key="a"), context(5))
    assert not isinstance(info.value, HandlerTimeout)


class MemoryInbox:
    def __init__(self) -> None:
        self.records: set[tuple[str, str]] = set()

    async def seen(self, consumer: str, message_id: str) -> bool:
        return (consumer, message_id) in self.records

    @contextlib.asynccontextmanager
    async def transaction(self) -> Any:
        yield "session"

    async def record(self, consumer: str, message_id: str, session: Any = None) -> None:
        self.records.add((consumer, message_id))


async def test_the_inbox_runs_a_message_id_once() -> None:
    effects: list[str] = []

    async def handler(msg: DoWork, ctx: MessageContext) -> None:
        assert ctx.session == "session"
        effects.append(msg.key)

    inbox = MemoryInbox()
    dispatch = Dispatcher(endpoint(handler, inbox=True), inbox, _publish, QueueMetrics("svc.work"))
    await dispatch(DoWork(key="a"), context(5))
    await dispatch(DoWork(key="a"), context(5))  # a redelivery of the same message id
    assert effects == ["a"]


def test_an_endpoint_wanting_the_inbox_needs_one() -> None:
    async def handler(msg: DoWork, ctx: MessageContext) -> None:
        return None

    with pytest.raises(ValueError, match="inbox"):
        Dispatcher(endpoint(handler, inbox=True), None, _publish, QueueMetrics("svc.work"))


class RecordingPublisher:
    def __init__(self, fail: bool = False) -> None:
        self.sent: list[tuple[str, str, Any]] = []
        self.fail = fail

    async def publish_raw(self, exchange: str, routing_key: str, message: Any) -> None:
        if self.fail:
            raise PublishError("broker said no")
        self.sent.append((exchange, routing_key, message))


def delivery(body: bytes, headers: dict[str, Any]) -> Any:
    props = SimpleNamespace(
        headers=headers,
        message_id="m-1",
        content_type="application/json",
        content_encoding=None,
        correlation_id=None,
        timestamp=None,
        message_type=None,
        app_id=None,
    )
    return SimpleNamespace(
        body=body,
        header=SimpleNamespace(properties=props),
        delivery=SimpleNamespace(exchange="tradebus.commands", routing_key=DoWork.message_type),
    )


def outcomes(publisher: RecordingPublisher, events: list[MessageFaulted]) -> Outcomes:
    async def on_fault(event: MessageFaulted) -> None:
        events.append(event)

    return Outcomes(
        queue="svc.work",
        parking_key="svc.work",
        publisher=publisher,  # type: ignore[arg-type]
        levels=18,
        service="svc",
        host="h1",
        parked_body_max_bytes=16,
        metrics=QueueMetrics("svc.work"),
        on_fault=on_fault,
    )


async def test_a_parked_copy_keeps_a_bounded_excerpt_and_the_event_names_the_task() -> None:
    publisher, events = RecordingPublisher(), []
    fault = Fault(FaultReason.TOO_LARGE, "BodyTooLarge", "too big")
    msg = delivery(b"x" * 100, ENVELOPE.to_headers())
    assert await outcomes(publisher, events).park(msg, ENVELOPE, fault, attempts=1)
    [(exchange, key, copy)] = publisher.sent
    assert (exchange, key) == ("tradebus.dlx", "svc.work")
    assert copy.body == b"x" * 16
    assert copy.headers["x-tradebus-body-bytes"] == 100
    assert copy.headers["x-tradebus-fault-reason"] == "too_large"
    [event] = events
    assert (event.task_id, event.tenant_id, event.reason) == ("task-1", "t1", "too_large")


async def test_unreadable_headers_still_give_the_task_from_its_own_header() -> None:
    publisher, events = RecordingPublisher(), []
    fault = Fault(FaultReason.MALFORMED, "InvalidEnvelope", "no type")
    headers = {"cloudEvents:taskid": "task-9", "cloudEvents:tenantid": b"\xff\xfe"}
    assert await outcomes(publisher, events).park(delivery(b"{}", headers), None, fault, 1)
    [event] = events
    assert event.task_id == "task-9"
    assert event.tenant_id is None  # not readable text: left out, never a crash
    assert event.message_id == "m-1"


async def test_a_copy_the_broker_did_not_confirm_means_requeue() -> None:
    events: list[MessageFaulted] = []
    out = outcomes(RecordingPublisher(fail=True), events)
    fault = Fault(FaultReason.PERMANENT, "PermanentError", "no")
    assert not await out.park(delivery(b"{}", ENVELOPE.to_headers()), ENVELOPE, fault, 1)
    inbound = Inbound(ENVELOPE, DoWork(key="a"), 1, 0, None, None, False)
    retry = Retry(delay_seconds=5, next_attempt=2, outage_retries=0)
    msg = delivery(b"{}", ENVELOPE.to_headers())
    assert not await out.retry(msg, inbound, retry, RuntimeError("x"))
    assert events == []


async def test_a_retry_goes_to_the_delay_network_with_its_attempt() -> None:
    publisher: RecordingPublisher = RecordingPublisher()
    out = outcomes(publisher, [])
    inbound = Inbound(ENVELOPE, DoWork(key="a"), 1, 0, None, None, False)
    decision = Retry(delay_seconds=5, next_attempt=2, outage_retries=3)
    assert await out.retry(delivery(b"{}", ENVELOPE.to_headers()), inbound, decision, OSError())
    [(exchange, key, copy)] = publisher.sent
    assert exchange == "tradebus.retry" and key.endswith(".svc.work")
    assert copy.headers["x-tradebus-attempt"] == 2
    assert copy.headers["x-tradebus-outage-retries"] == 3

"""Trace context through the real broker: a delivery's CONSUMER span is the child of the
PRODUCER span of its publish, on every attempt (a retry crosses the delay network with
the original headers), and what the handler publishes is the child of its span."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from tests.support.contracts import DoWork, Echo, EchoReply, WorkDone
from tests.support.tracing import named, parent_id, recorded_spans
from tradebus_messaging import MessageContext

from .conftest import eventually

pytestmark = pytest.mark.integration


def of_message(spans: Sequence[ReadableSpan], message_id: str) -> list[ReadableSpan]:
    return [s for s in spans if (s.attributes or {}).get("messaging.message.id") == message_id]


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    with recorded_spans() as exporter:
        yield exporter


async def test_every_attempt_is_a_consumer_span_under_the_producer_span(
    make_bus, unique, spans
) -> None:
    queue, events = f"t-{unique}.work", f"t-{unique}.done"
    done: list[str] = []

    async def work(msg: DoWork, ctx: MessageContext) -> None:
        if ctx.attempt <= msg.fail_times:
            raise RuntimeError(f"transient failure {ctx.attempt}")
        await ctx.publish(WorkDone(key=msg.key))

    async def on_done(msg: WorkDone, ctx: MessageContext) -> None:
        done.append(msg.key)

    bus = make_bus()
    bus.subscribe(queue=queue, message_types=[DoWork.message_type], handler=work)
    bus.subscribe(queue=events, message_types=[WorkDone.message_type], handler=on_done)
    await bus.start()
    # (a key of this test's own: other runs on the broker may publish the same type)
    key = f"traced-{unique}"
    sent = await bus.publish(DoWork(key=key, fail_times=1), tenant_id="t1")
    await eventually(lambda: key in done, timeout=30)

    def in_conversation(spans: Sequence[ReadableSpan], name: str) -> list[ReadableSpan]:
        key = "messaging.message.conversation_id"
        return [
            s for s in named(spans, name) if (s.attributes or {}).get(key) == sent.correlation_id
        ]

    # the last span ends just after the handler returns
    await eventually(
        lambda: in_conversation(spans.get_finished_spans(), f"{events} process"), timeout=10
    )
    finished = spans.get_finished_spans()
    [publish] = of_message(named(finished, "tradebus.commands publish"), sent.id)
    attempts = sorted(
        of_message(named(finished, f"{queue} process"), sent.id),
        key=lambda s: (s.attributes or {}).get("tradebus.attempt", 0),
    )
    [event_publish] = in_conversation(finished, "tradebus.events publish")
    [event_process] = in_conversation(finished, f"{events} process")

    assert publish.kind is SpanKind.PRODUCER
    assert [s.kind for s in attempts] == [SpanKind.CONSUMER, SpanKind.CONSUMER]
    # Both attempts, the first and the retried copy, are children of the one publish.
    assert [parent_id(s) for s in attempts] == [publish.context.span_id] * 2
    assert [s.status.status_code for s in attempts] == [StatusCode.ERROR, StatusCode.UNSET]
    # The follow-up event: published inside the successful attempt, consumed under it.
    assert parent_id(event_publish) == attempts[1].context.span_id
    assert parent_id(event_process) == event_publish.context.span_id
    trace_ids = {s.context.trace_id for s in (publish, *attempts, event_publish, event_process)}
    assert trace_ids == {publish.context.trace_id}
    assert sent.traceparent is not None and f"{publish.context.trace_id:032x}" in sent.traceparent


async def test_an_rpc_server_span_is_the_child_of_the_client_span(make_bus, unique, spans) -> None:
    async def echo(req: Echo, ctx: MessageContext) -> EchoReply:
        return EchoReply(text=req.text.upper())

    server = make_bus()
    server.serve(queue=f"t-{unique}.echo", request_type=Echo.message_type, handler=echo)
    await server.start()
    client = make_bus()
    await client.start()
    assert await client.request(Echo(text="hi"), timeout=10) == EchoReply(text="HI")
    await eventually(lambda: named(spans.get_finished_spans(), f"t-{unique}.echo process"))

    [call] = [s for s in spans.get_finished_spans() if s.kind is SpanKind.CLIENT]
    request_id = (call.attributes or {})["messaging.message.id"]
    [serve] = [  # (requests of other runs on the broker may reach this server too)
        s
        for s in named(spans.get_finished_spans(), f"t-{unique}.echo process")
        if (s.attributes or {}).get("messaging.message.id") == request_id
    ]
    assert serve.kind is SpanKind.SERVER
    assert parent_id(serve) == call.context.span_id
    assert serve.context.trace_id == call.context.trace_id
    assert call.end_time is not None and serve.end_time is not None
    assert call.end_time >= serve.end_time  # the call spans the wait for the answer


async def test_a_parked_then_replayed_message_links_to_its_original_trace(
    make_bus, unique, amqp, spans
) -> None:
    from tradebus_messaging import PermanentError
    from tradebus_messaging.parking import ParkedMessage, ParkingLot

    queue, fixed, handled = f"t-{unique}.work", False, []

    async def work(msg: DoWork, ctx: MessageContext) -> None:
        if not fixed:
            raise PermanentError("cannot do it yet")
        handled.append(ctx.envelope.id)

    bus = make_bus()
    bus.subscribe(queue=queue, message_types=[DoWork.message_type], handler=work)
    await bus.start()
    sent = await bus.publish(DoWork(key=f"replayed-{unique}"))
    lot = ParkingLot(amqp, levels=bus.settings.delay_levels)

    async def parked_copies() -> list[ParkedMessage]:
        # (only this test's message: other runs on the broker may send the same type)
        return [m for m in await lot.list(queue) if m.message_id == sent.id]

    await eventually(parked_copies, timeout=15)
    [parked] = await parked_copies()
    assert parked.headers["cloudEvents:traceparent"] == sent.traceparent  # kept as published

    fixed = True  # the operator deployed a fix
    assert await lot.replay(queue, message_ids={sent.id}) == 1
    await eventually(lambda: sent.id in handled, timeout=15)
    await eventually(lambda: len(of_message(spans.get_finished_spans(), sent.id)) >= 3)

    [publish] = of_message(named(spans.get_finished_spans(), "tradebus.commands publish"), sent.id)
    first, replay = sorted(
        of_message(named(spans.get_finished_spans(), f"{queue} process"), sent.id),
        key=lambda s: s.start_time or 0,
    )
    assert parent_id(first) == publish.context.span_id
    assert first.status.status_code is StatusCode.ERROR
    # The replay is an operator's new act: a trace of its own, linked to the original.
    assert replay.parent is None and replay.context.trace_id != publish.context.trace_id
    assert [link.context.span_id for link in replay.links] == [publish.context.span_id]
    assert replay.attributes is not None and replay.attributes["tradebus.replayed"] is True

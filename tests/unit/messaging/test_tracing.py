"""The bus's spans and the trace context in the CloudEvents headers, without a broker:
what the consumer reads back from the AMQP headers is the producer's span."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from tests.support.tracing import parent_id, recorded_spans
from tradebus_contracts import Envelope
from tradebus_messaging import tracing

CLIENT_TRACE = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    with recorded_spans() as exporter:
        yield exporter


def through_the_broker(envelope: Envelope) -> Envelope:
    """What a consumer decodes: the AMQP application headers, and nothing else."""
    return Envelope.from_headers(envelope.to_headers())


def test_the_consumer_span_is_the_child_of_the_producer_span(spans) -> None:
    sent, scope = tracing.send_span(
        Envelope(type="a.b.do.v1", source="s", traceparent=CLIENT_TRACE, tracestate="vendor=1"),
        exchange="tradebus.commands",
        routing_key="a.b.do.v1",
    )
    scope.finish()
    headers = sent.to_headers()
    assert headers["cloudEvents:traceparent"] == sent.traceparent
    assert headers["cloudEvents:tracestate"] == "vendor=1"  # carried along unchanged
    with tracing.process_span(through_the_broker(sent), queue="svc.do", attempt=1):
        active = trace.get_current_span().get_span_context()
    producer, consumer = spans.get_finished_spans()
    assert (producer.name, producer.kind) == ("tradebus.commands publish", SpanKind.PRODUCER)
    assert (consumer.name, consumer.kind) == ("svc.do process", SpanKind.CONSUMER)
    # One trace, continued from the client's; each hop the child of the one before.
    assert producer.context.trace_id == consumer.context.trace_id == int(CLIENT_TRACE[3:35], 16)
    assert parent_id(producer) == int(CLIENT_TRACE[36:52], 16)
    assert parent_id(consumer) == producer.context.span_id
    assert active.span_id == consumer.context.span_id  # current while the handler runs
    assert producer.attributes is not None and consumer.attributes is not None
    assert producer.attributes["messaging.system"] == "rabbitmq"
    assert producer.attributes["messaging.operation"] == "publish"
    assert producer.attributes["messaging.destination.name"] == "tradebus.commands"
    assert producer.attributes["messaging.rabbitmq.destination.routing_key"] == "a.b.do.v1"
    assert producer.attributes["messaging.message.id"] == sent.id
    assert consumer.attributes["messaging.operation"] == "process"
    assert consumer.attributes["messaging.destination.name"] == "svc.do"


def test_a_publish_inside_a_handler_is_the_child_of_its_consumer_span(spans) -> None:
    first, scope = tracing.send_span(
        Envelope(type="a.b.do.v1", source="s"), exchange="x", routing_key="a.b.do.v1"
    )
    scope.finish()
    with tracing.process_span(through_the_broker(first), queue="svc.do", attempt=1):
        caused = first.caused("a.b.done.v1", "s")
        follow_up, scope = tracing.send_span(caused, exchange="e", routing_key="a.b.done.v1")
        scope.finish()
    assert follow_up.traceparent != first.traceparent  # the new publish span, not a copy
    by_name = {s.name: s for s in spans.get_finished_spans()}
    assert parent_id(by_name["e publish"]) == by_name["svc.do process"].context.span_id
    assert len({s.context.trace_id for s in by_name.values()}) == 1


def test_a_replayed_message_starts_a_trace_linked_to_the_original(spans) -> None:
    sent, scope = tracing.send_span(
        Envelope(type="a.b.do.v1", source="s"), exchange="x", routing_key="k"
    )
    scope.finish()
    with tracing.process_span(through_the_broker(sent), queue="q", attempt=1, replayed=True):
        pass
    producer, replay = spans.get_finished_spans()
    assert replay.parent is None and replay.context.trace_id != producer.context.trace_id
    assert [link.context.span_id for link in replay.links] == [producer.context.span_id]


def test_a_handler_failure_marks_the_consumer_span(spans) -> None:
    with tracing.process_span(Envelope(type="a.b.do.v1", source="s"), queue="q", attempt=2):
        tracing.record_failure(RuntimeError("downstream said 503"))
    [span] = spans.get_finished_spans()
    assert span.parent is None  # a message without trace context starts a trace
    assert span.status.status_code is StatusCode.ERROR
    assert [e.name for e in span.events] == ["exception"]
    assert span.attributes is not None and span.attributes["tradebus.attempt"] == 2


def test_an_rpc_is_a_client_span_and_a_server_span(spans) -> None:
    sent, scope = tracing.send_span(
        Envelope(type="a.b.ask.v1", source="s"), exchange="x", routing_key="k", rpc=True
    )
    with tracing.process_span(through_the_broker(sent), queue="q", attempt=1, rpc=True):
        pass
    scope.finish("timeout")
    server, client = spans.get_finished_spans()
    assert (client.kind, server.kind) == (SpanKind.CLIENT, SpanKind.SERVER)
    assert parent_id(server) == client.context.span_id
    assert client.status.status_code is StatusCode.ERROR


def test_without_a_provider_nothing_is_traced_and_envelopes_pass_unchanged() -> None:
    envelope = Envelope(type="a.b.do.v1", source="s", traceparent=CLIENT_TRACE)
    sent, scope = tracing.send_span(envelope, exchange="x", routing_key="k")
    assert sent is envelope and scope is tracing.NOT_TRACED
    with tracing.process_span(envelope, queue="q", attempt=1) as span_scope:
        assert span_scope is tracing.NOT_TRACED
        assert not trace.get_current_span().get_span_context().is_valid

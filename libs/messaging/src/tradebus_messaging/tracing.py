"""Spans for the bus, after the OpenTelemetry messaging semantic conventions, with the
trace context carried in the CloudEvents `traceparent` / `tracestate` attributes
(AMQP headers `cloudEvents:traceparent`, `cloudEvents:tracestate`) by the W3C
TraceContext propagator.

A publish is a PRODUCER span (an RPC request a CLIENT span) whose context the message
carries; a handled delivery is a CONSUMER span (an RPC request a SERVER span), child of
the context the message carries, and current while the handler runs, so whatever the
handler publishes or calls joins the trace. A retried or parked copy keeps the headers
it was published with, so every attempt is a child of the original publish; a message
replayed from the parking lot starts a trace of its own that links to the original.

Without a tracer provider (tracing off) nothing here allocates a span or touches an
envelope: a message passes on the context it was caused by, unchanged."""

from __future__ import annotations

from contextvars import Token
from types import TracebackType
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Link, Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from tradebus_contracts import Envelope

SCOPE = "tradebus.messaging"
_W3C = TraceContextTextMapPropagator()
_OFF = (trace.ProxyTracerProvider, trace.NoOpTracerProvider)
_cached: tuple[Any, trace.Tracer] | None = None


def _tracer() -> trace.Tracer | None:
    """The installed provider's tracer, or None while tracing is off (checked per call:
    a global read and an isinstance, so a provider installed later takes effect)."""
    global _cached
    provider = trace.get_tracer_provider()
    if isinstance(provider, _OFF):
        return None
    cached = _cached
    if cached is None or cached[0] is not provider:
        cached = _cached = (provider, provider.get_tracer(SCOPE))
    return cached[1]


def context_of(envelope: Envelope) -> Context:
    """The trace context the message carries (an empty one when it carries none)."""
    carrier = {"traceparent": envelope.traceparent or ""}
    if envelope.tracestate:
        carrier["tracestate"] = envelope.tracestate
    return _W3C.extract(carrier, context=Context())


def with_context(envelope: Envelope, context: Context) -> Envelope:
    """The envelope carrying `context`'s span (unchanged when that span is invalid)."""
    carrier: dict[str, str] = {}
    _W3C.inject(carrier, context=context)
    if "traceparent" not in carrier:
        return envelope
    return envelope.with_(traceparent=carrier["traceparent"], tracestate=carrier.get("tracestate"))


class SpanScope:
    """Ends its span: as a context manager (an exception marks it failed) or by
    `finish()`. The `NOT_TRACED` instance does nothing."""

    __slots__ = ("_span", "_token")

    def __init__(self, span: Span | None, token: Token[Context] | None = None) -> None:
        self._span = span
        self._token = token

    def __enter__(self) -> SpanScope:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.finish(exc)

    def finish(self, error: BaseException | str | None = None) -> None:
        span, self._span = self._span, None
        if span is None:
            return
        if error is not None:
            _mark_failed(span, error)
        span.end()
        token, self._token = self._token, None
        if token is not None:
            otel_context.detach(token)


NOT_TRACED = SpanScope(None)


def send_span(
    envelope: Envelope,
    *,
    exchange: str,
    routing_key: str,
    rpc: bool = False,
) -> tuple[Envelope, SpanScope]:
    """Start the span of one publish and return the envelope that carries it. Its parent
    is the active span (the handler's, the HTTP request's), else the context the envelope
    already carries (given by a caller, or inherited from the causing message)."""
    tracer = _tracer()
    if tracer is None:
        return envelope, NOT_TRACED
    active = trace.get_current_span().get_span_context().is_valid
    parent = None if active else context_of(envelope)
    destination = exchange or "amq.default"
    span = tracer.start_span(
        f"{destination} publish",
        context=parent,
        kind=SpanKind.CLIENT if rpc else SpanKind.PRODUCER,
        attributes={
            "messaging.system": "rabbitmq",
            "messaging.operation": "publish",
            "messaging.operation.type": "send",
            "messaging.destination.name": destination,
            "messaging.rabbitmq.destination.routing_key": routing_key,
            "messaging.message.id": envelope.id,
            "messaging.message.conversation_id": envelope.correlation_id or "",
            "cloudevents.event_type": envelope.type,
        },
    )
    return with_context(envelope, trace.set_span_in_context(span)), SpanScope(span)


def process_span(
    envelope: Envelope,
    *,
    queue: str,
    attempt: int,
    rpc: bool = False,
    replayed: bool = False,
) -> SpanScope:
    """Start and activate the span of handling one delivery, child of the context the
    message carries; a replayed message gets a new trace linked to that context."""
    tracer = _tracer()
    if tracer is None:
        return NOT_TRACED
    carried = context_of(envelope)
    links: list[Link] = []
    if replayed:
        carried_span = trace.get_current_span(carried).get_span_context()
        if carried_span.is_valid:
            links.append(Link(carried_span, {"tradebus.link": "replay_of"}))
        carried = Context()
    span = tracer.start_span(
        f"{queue} process",
        context=carried,
        kind=SpanKind.SERVER if rpc else SpanKind.CONSUMER,
        links=links,
        attributes={
            "messaging.system": "rabbitmq",
            "messaging.operation": "process",
            "messaging.operation.type": "process",
            "messaging.destination.name": queue,
            "messaging.rabbitmq.destination.routing_key": envelope.type,
            "messaging.message.id": envelope.id,
            "messaging.message.conversation_id": envelope.correlation_id or "",
            "cloudevents.event_type": envelope.type,
            "tradebus.attempt": attempt,
            "tradebus.replayed": replayed,
        },
    )
    token = otel_context.attach(trace.set_span_in_context(span, carried))
    return SpanScope(span, token)


def record_failure(error: BaseException) -> None:
    """Mark the active span failed (a handler error the runtime turns into a retry,
    a parked copy or an error reply, so it never reaches the span's scope)."""
    span = trace.get_current_span()
    if span.is_recording():
        _mark_failed(span, error)


def _mark_failed(span: Span, error: BaseException | str) -> None:
    if isinstance(error, BaseException):
        span.record_exception(error)
        span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
    else:
        span.set_status(Status(StatusCode.ERROR, error))

"""Trace context and correlation ids for the calls the gateway makes on a client's behalf.

With tracing on, the FastAPI instrumentation continues the client's `traceparent` in the
request's SERVER span, and everything the request publishes or calls is its child. With
tracing off, a valid incoming `traceparent` is still passed on as it is, so the services
that answer log the client's trace id. A malformed `traceparent` or correlation id is
ignored, not refused: W3C trace context asks receivers to restart the trace rather than
fail a request over a tracing header."""

from __future__ import annotations

import asyncio
import re
import uuid

from fastapi import FastAPI
from opentelemetry.trace import TracerProvider, get_current_span
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tradebus_observability import Tracing

CORRELATION_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# Probes and scrapes are not requests anyone traces.
UNTRACED_PATHS = ("/healthz", "/readyz", "/metrics")

_W3C = TraceContextTextMapPropagator()


def incoming_traceparent(value: str | None) -> str | None:
    """The client's `traceparent` when the W3C propagator accepts it, else None."""
    if not value:
        return None
    context = _W3C.extract({"traceparent": value})
    if not get_current_span(context).get_span_context().is_valid:
        return None
    carrier: dict[str, str] = {}
    _W3C.inject(carrier, context=context)
    return carrier.get("traceparent")


def correlation_id(incoming: str | None) -> str:
    """The caller's correlation id when it is usable, else a new one."""
    if incoming and CORRELATION_ID.match(incoming):
        return incoming
    return uuid.uuid4().hex


def instrument(app: FastAPI, provider: TracerProvider) -> None:
    """A SERVER span per request (continuing an incoming `traceparent`), probes excluded."""
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=provider,
        excluded_urls=",".join(UNTRACED_PATHS),
        # One span per request, not one more per ASGI message sent and received.
        exclude_spans=["receive", "send"],
    )


def flushed_at_shutdown(app: ASGIApp, tracing: Tracing) -> ASGIApp:
    """The app, exporting the last spans once its lifespan has shut down. uvicorn re-raises
    SIGTERM when it has finished, so nothing after `uvicorn.run` (atexit included) runs."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await app(scope, receive, send)
            return

        async def send_flushing(message: Message) -> None:
            if message["type"] == "lifespan.shutdown.complete":
                await asyncio.to_thread(tracing.shutdown)  # a blocking export
            await send(message)

        await app(scope, receive, send_flushing)

    return wrapped

"""An OTLP/HTTP trace receiver on loopback, in the test's process: decodes each
`ExportTraceServiceRequest` (http/protobuf) with opentelemetry-proto and keeps the spans,
so an end-to-end test can judge the traces the services really exported."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from .asgi_server import read_body, running_asgi

KINDS = {1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}


@dataclass(frozen=True)
class ExportedSpan:
    service: str
    name: str
    kind: str
    trace_id: str
    span_id: str
    parent_id: str | None
    start_ns: int
    end_ns: int
    attributes: dict[str, Any]
    error: bool

    @property
    def duration_ms(self) -> float:
        return (self.end_ns - self.start_ns) / 1e6


@dataclass
class TraceReceiver:
    url: str  # the OTLP endpoint (the SDK appends /v1/traces)
    spans: list[ExportedSpan] = field(default_factory=list)

    async def wait_for(
        self, predicate: Callable[[list[ExportedSpan]], bool], timeout: float = 30
    ) -> list[ExportedSpan]:
        async with asyncio.timeout(timeout):
            while not predicate(self.spans):
                await asyncio.sleep(0.1)
        return self.spans

    def trace(self, trace_id: str) -> list[ExportedSpan]:
        return [s for s in self.spans if s.trace_id == trace_id]

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = await read_body(receive) or b""
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        if scope["path"] != "/v1/traces" or scope["method"] != "POST":
            await _answer(send, 404, b"")
            return
        if headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        self.spans.extend(_spans_of(request))
        await _answer(send, 200, ExportTraceServiceResponse().SerializeToString())


def _spans_of(request: ExportTraceServiceRequest) -> Iterator[ExportedSpan]:
    for resource_spans in request.resource_spans:
        resource = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
        service = str(resource.get("service.name", "?"))
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                yield ExportedSpan(
                    service=service,
                    name=span.name,
                    kind=KINDS.get(span.kind, str(span.kind)),
                    trace_id=span.trace_id.hex(),
                    span_id=span.span_id.hex(),
                    parent_id=span.parent_span_id.hex() or None,
                    start_ns=span.start_time_unix_nano,
                    end_ns=span.end_time_unix_nano,
                    attributes={a.key: _value(a.value) for a in span.attributes},
                    error=span.status.code == 2,  # STATUS_CODE_ERROR
                )


def _value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind else None


async def _answer(send: Any, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"application/x-protobuf")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def span_tree(
    spans: list[ExportedSpan], keep: Callable[[ExportedSpan], bool] = lambda _: True
) -> str:
    """One line per kept span, children indented under their nearest kept ancestor, in
    start order: service, span name, kind, duration in milliseconds."""
    by_id = {s.span_id: s for s in spans}

    def kept_parent(span: ExportedSpan) -> str | None:
        parent = by_id.get(span.parent_id or "")
        while parent is not None and not keep(parent):
            parent = by_id.get(parent.parent_id or "")
        return parent.span_id if parent is not None else None

    children: dict[str | None, list[ExportedSpan]] = {}
    for span in spans:
        if keep(span):
            children.setdefault(kept_parent(span), []).append(span)
    lines: list[str] = []

    def walk(parent: str | None, depth: int) -> None:
        for span in sorted(children.get(parent, []), key=lambda s: s.start_ns):
            mark = " ERROR" if span.error else ""
            lines.append(
                f"{'  ' * depth}{span.service:<15} {span.name} [{span.kind}] "
                f"{span.duration_ms:.1f} ms{mark}"
            )
            walk(span.span_id, depth + 1)

    walk(None, 0)
    return "\n".join(lines)


def running_trace_receiver() -> contextlib.AbstractAsyncContextManager[TraceReceiver]:
    return running_asgi(lambda base: TraceReceiver(url=base))

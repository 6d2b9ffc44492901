"""Traces across the services as real processes, exported over OTLP/HTTP to a receiver in
this test's process: one trace per job (the gateway's POST, the ingest, every embed
batch, the notifier's consumer and its webhook delivery) and one per online call (the
gateway, the RPC, dealbrain and its calls to the LLM). The span trees are printed (-s)
and listed in the run's `figures`, and written next to the services' logs."""

from __future__ import annotations

import asyncio
import json
import tempfile
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.integration.notifier.receiver import Receiver, running_receiver
from tests.support.fault_server import running_fault_server
from tests.support.otlp_receiver import (
    ExportedSpan,
    TraceReceiver,
    running_trace_receiver,
    span_tree,
)
from tests.support.stack import Stack, isolated_stack

pytestmark = pytest.mark.e2e

KEY = "tb_e2e_tracing_" + uuid.uuid4().hex
DOCUMENT = Path(__file__).resolve().parents[2] / "samples" / "documents"
SERVICES = ("gateway", "omnirag-ingest", "omnirag-embed", "notifier", "dealbrain")
CLIENT_TRACE_ID = uuid.uuid4().hex
CLIENT_SPAN_ID = uuid.uuid4().hex[:16]


@dataclass
class Traced:
    stack: Stack
    traces: TraceReceiver
    webhooks: Receiver
    logs: Path


@pytest.fixture(scope="module")
async def traced(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Traced]:
    logs = tmp_path_factory.mktemp("tracing-logs")
    async with (
        running_trace_receiver() as traces,
        running_receiver() as webhooks,
        running_fault_server() as providers,
    ):
        env = {
            "TRADEBUS_BOOTSTRAP_API_KEY": KEY,
            "TRADEBUS_WEBHOOK_ALLOWED_NETWORKS": json.dumps(["127.0.0.0/8"]),
            "TRADEBUS_LLM_PROVIDER": "openai",
            "TRADEBUS_LLM_BASE_URL": providers.url,
            "TRADEBUS_LLM_MODEL": "stand-in",
            "TRADEBUS_OMNIRAG_INGEST_EMBED_BATCH_SIZE": "4",
            "TRADEBUS_OMNIRAG_INGEST_CHUNK_MAX_TOKENS": "64",
            "OTEL_TRACES_EXPORTER": "otlp",
            "OTEL_EXPORTER_OTLP_ENDPOINT": traces.url,
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_BSP_SCHEDULE_DELAY": "200",  # milliseconds: spans arrive while we wait
            "OTEL_SDK_DISABLED": "false",
        }
        async with isolated_stack(
            "e2e-tracing",
            base_port=19_920,  # other e2e stacks: 18_100 .. 19_860
            logs=logs,
            env=env,
            services=[(s, s) for s in SERVICES],
        ) as stack:
            yield Traced(stack, traces, webhooks, logs)


@pytest.fixture
async def api(traced: Traced) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=traced.stack.processes["gateway"].url,
        headers={"Authorization": f"Bearer {KEY}"},
        timeout=30,
    ) as client:
        yield client


def ancestors(span: ExportedSpan, spans: list[ExportedSpan]) -> list[ExportedSpan]:
    by_id = {s.span_id: s for s in spans}
    chain, parent = [], by_id.get(span.parent_id or "")
    while parent is not None:
        chain.append(parent)
        parent = by_id.get(parent.parent_id or "")
    return chain


def is_http(span: ExportedSpan) -> bool:
    """An outgoing HTTP call (httpx), as opposed to a database command (pymongo)."""
    return span.kind == "client" and any(
        key in span.attributes for key in ("http.request.method", "http.method")
    )


def descends(span: ExportedSpan, ancestor: ExportedSpan, spans: list[ExportedSpan]) -> bool:
    return ancestor in ancestors(span, spans)


def report(traced: Traced, figures, title: str, spans: list[ExportedSpan]) -> None:
    """The tree without database commands in the figures (they are most of the spans),
    and whole in the file beside the services' logs."""
    databases = sum(s.attributes.get("db.system") is not None for s in spans)
    figures(
        f"{title}: {len(spans)} spans, {databases} MongoDB commands left out here\n"
        + span_tree(spans, keep=lambda s: s.attributes.get("db.system") is None)
    )
    with (traced.logs / "trace-trees.txt").open("a") as out:
        out.write(f"{title}\n{span_tree(spans)}\n\n")


@pytest.mark.timeout(300)
async def test_one_trace_covers_a_documents_whole_job(traced: Traced, api, figures) -> None:
    hook = await api.post(
        "/v1/webhooks",
        json={"url": traced.webhooks.url, "event_types": ["omnirag.document.indexed.v1"]},
    )
    assert hook.status_code == 201, hook.text
    path = DOCUMENT / "incoterms-2020-overview.md"
    accepted = await api.post(
        "/v1/rag/documents",
        files={"file": (path.name, path.read_bytes(), "text/markdown")},
        data={"title": "traced"},
    )
    assert accepted.status_code == 202, accepted.text
    task_id = accepted.json()["task_id"]
    async with asyncio.timeout(120):
        while (task := (await api.get(f"/v1/tasks/{task_id}")).json())["status"] not in (
            "succeeded",
            "failed",
        ):
            await asyncio.sleep(0.2)
    assert task["status"] == "succeeded", task
    await traced.webhooks.wait_for(1, timeout=60)

    def posted(spans: list[ExportedSpan]) -> ExportedSpan | None:
        return next(
            (
                s
                for s in spans
                if s.service == "gateway"
                and s.kind == "server"
                and s.name == "POST /v1/rag/documents"
            ),
            None,
        )

    def delivered(spans: list[ExportedSpan]) -> bool:
        """The webhook call is in, and so is every span between it and the POST: each
        process exports on its own schedule, so the embed batch that published the
        indexed event may still be on its way when the notifier's spans are in."""
        root = posted(spans)
        return root is not None and any(
            s.trace_id == root.trace_id
            and s.service == "notifier"
            and is_http(s)
            and descends(s, root, spans)
            for s in spans
        )

    await traced.traces.wait_for(delivered, timeout=60)
    root = posted(traced.traces.spans)
    assert root is not None
    spans = traced.traces.trace(root.trace_id)
    report(traced, figures, f"trace {root.trace_id} (document job)", spans)

    def consumers(service: str, queue: str) -> list[ExportedSpan]:
        return [
            s
            for s in spans
            if s.service == service and s.kind == "consumer" and s.name == f"{queue} process"
        ]

    [ingest] = consumers("omnirag-ingest", "omnirag-ingest.ingest")
    embeds = [s for s in spans if s.service == "omnirag-embed" and s.kind == "consumer"]
    indexed = [
        s
        for s in consumers("notifier", "notifier.webhook-fanout")
        if s.attributes.get("messaging.rabbitmq.destination.routing_key")
        == "omnirag.document.indexed.v1"
    ]
    [deliver] = consumers("notifier", "notifier.webhook-deliver")
    webhook_posts = [s for s in spans if s.service == "notifier" and is_http(s)]
    assert embeds and indexed and webhook_posts
    # The parent/child chain crosses every process: gateway -> ingest -> embed -> notifier.
    assert descends(ingest, root, spans)
    assert all(descends(e, ingest, spans) for e in embeds)
    assert any(descends(indexed[0], e, spans) for e in embeds)
    assert descends(deliver, indexed[0], spans)
    assert all(descends(p, deliver, spans) for p in webhook_posts)
    # Each hop: a consumer span's parent is the producer span of its publish.
    by_id = {s.span_id: s for s in spans}
    for span in [ingest, *embeds, *indexed]:
        parent = by_id[span.parent_id or ""]
        assert parent.kind == "producer" and parent.name.endswith(" publish"), parent
    # The webhook request carried the trace to the receiver.
    received = traced.webhooks.received[0].headers["traceparent"]
    assert received.split("-")[1] == root.trace_id


@pytest.mark.timeout(300)
async def test_an_online_call_continues_the_clients_trace_into_dealbrain(
    traced: Traced, api, figures
) -> None:
    ask = await api.post(
        "/v1/dealbrain/ask",
        json={"question": "Who pays the import duty under DDP?"},
        headers={"traceparent": f"00-{CLIENT_TRACE_ID}-{CLIENT_SPAN_ID}-01"},
    )
    assert ask.status_code == 200, ask.text

    def answered(spans: list[ExportedSpan]) -> bool:
        return any(
            s.trace_id == CLIENT_TRACE_ID and s.service == "dealbrain" and s.kind == "server"
            for s in spans
        ) and any(s.trace_id == CLIENT_TRACE_ID and s.service == "gateway" for s in spans)

    await traced.traces.wait_for(answered, timeout=60)
    await asyncio.sleep(1)  # the LLM call's span may be in the next export
    spans = traced.traces.trace(CLIENT_TRACE_ID)
    report(traced, figures, f"trace {CLIENT_TRACE_ID} (ask)", spans)
    [root] = [s for s in spans if s.service == "gateway" and s.kind == "server"]
    assert root.parent_id == CLIENT_SPAN_ID  # the client's span is the gateway's parent
    [call] = [s for s in spans if s.service == "gateway" and s.kind == "client"]
    [serve] = [s for s in spans if s.service == "dealbrain" and s.kind == "server"]
    assert serve.name == "dealbrain.ask process"
    assert descends(call, root, spans) and serve.parent_id == call.span_id
    downstream = [s for s in spans if s.service == "dealbrain" and is_http(s)]  # the LLM
    assert downstream and all(descends(s, serve, spans) for s in downstream)


@pytest.mark.timeout(180)
async def test_the_last_spans_are_exported_when_a_service_stops() -> None:
    """A batch delay far longer than the test: spans can only arrive by the flush on the
    SIGTERM drain path, of the gateway (uvicorn) and of a worker (the runner)."""
    async with running_trace_receiver() as traces, running_receiver() as webhooks:
        env = {
            "TRADEBUS_BOOTSTRAP_API_KEY": KEY,
            "TRADEBUS_WEBHOOK_ALLOWED_NETWORKS": json.dumps(["127.0.0.0/8"]),
            "OTEL_TRACES_EXPORTER": "otlp",
            "OTEL_EXPORTER_OTLP_ENDPOINT": traces.url,
            "OTEL_BSP_SCHEDULE_DELAY": "600000",  # ten minutes
            # and no batch fills up meanwhile
            "OTEL_BSP_MAX_QUEUE_SIZE": "100000",
            "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "100000",
        }
        async with isolated_stack(
            "e2e-tracing-flush",
            base_port=19_930,
            logs=Path(tempfile.mkdtemp(prefix="tradebus-e2e-tracing-")),
            env=env,
            services=[("gateway", "gateway"), ("notifier", "notifier")],
        ) as stack:
            async with httpx.AsyncClient(
                base_url=stack.processes["gateway"].url,
                headers={"Authorization": f"Bearer {KEY}"},
                timeout=30,
            ) as api:
                hook = await api.post(
                    "/v1/webhooks", json={"url": webhooks.url, "event_types": ["task.#"]}
                )
                assert hook.status_code == 201, hook.text
                sent = await api.post(f"/v1/webhooks/{hook.json()['id']}/test")
                assert sent.status_code == 202, sent.text
                await webhooks.wait_for(1, timeout=60)
            assert traces.spans == []  # nothing exported yet: the batch is still waiting
            await stack.stop_all()  # SIGTERM each, wait for it to exit
            services = {s.service for s in traces.spans}
            assert {"gateway", "notifier"} <= services, services
            assert any(s.service == "notifier" and is_http(s) for s in traces.spans)

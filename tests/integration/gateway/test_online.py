"""The online endpoints against the real broker: replies map to the public bodies, the
tenant comes from the key, a missed deadline is a 504 (and the server drops the expired
request), no server or no broker is a 503, remote failures map by code, a full in-flight
budget is a 429 before anything is published."""

from __future__ import annotations

import asyncio

import aio_pika
import pytest
from prometheus_client import REGISTRY

from tradebus_contracts import (
    AskReply,
    AskRequest,
    AssessReply,
    AssessRequest,
    Citation,
    Evidence,
    HuntReply,
    HuntRequest,
    Lead,
    LeadSource,
    RubricFactor,
)
from tradebus_messaging import PermanentError

from .conftest import KEY_GLOBEX

pytestmark = pytest.mark.integration

ASK_QUEUE = "dealbrain.ask"
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def answer(request: AskRequest) -> AskReply:
    return AskReply(
        answer=f"answer to {request.question}",
        citations=[
            Citation(document_id="d1", chunk_id="d1:0", title="Terms", snippet="DAP...", score=0.9)
        ],
        degraded=["rerank:skipped"],
        latency_ms={"retrieve": 1.5, "answer": 2.0},
        session_id=request.session_id,
        retrieved=7,
    )


def sample(name: str, labels: dict[str, str]) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def rpc_calls(message_type: str) -> float:
    """Requests the RPC client has finished, whatever their outcome."""
    return sum(
        s.value
        for metric in REGISTRY.collect()
        if metric.name == "tradebus_rpc_client_seconds"
        for s in metric.samples
        if s.name.endswith("_count") and s.labels["type"] == message_type
    )


async def ready_messages(vhost: str, queue: str) -> int:
    connection = await aio_pika.connect(vhost)
    async with connection:
        channel = await connection.channel()
        declared = await channel.declare_queue(queue, passive=True)
        return int(declared.declaration_result.message_count or 0)


async def test_ask_returns_the_reply_fields_for_the_keys_tenant(make_gateway, serve) -> None:
    server = await serve(AskRequest.message_type, answer, queue=ASK_QUEUE)
    gateway = await make_gateway()
    response = await gateway.api.post(
        "/v1/dealbrain/ask",
        # A tenant in the body is ignored: the key decides.
        json={
            "question": "Who pays duty?",
            "top_k": 3,
            "filters": {"region": "EU"},
            "tenant_id": "globex",
        },
        headers={"X-Correlation-Id": "it-corr-1", "traceparent": TRACEPARENT},
    )
    assert response.status_code == 200, response.text
    assert response.json() == answer(
        AskRequest(tenant_id="x", question="Who pays duty?")
    ).model_dump(mode="json")
    assert response.headers["X-Correlation-Id"] == "it-corr-1"
    request, ctx = server.handled[0]
    assert (request.tenant_id, ctx.tenant_id) == ("acme", "acme")
    assert (request.top_k, request.filters, request.session_id) == (3, {"region": "EU"}, None)
    assert ctx.envelope.correlation_id == "it-corr-1"
    assert ctx.envelope.traceparent.split("-")[1] == TRACEPARENT.split("-")[1]  # same trace
    assert ctx.deadline is not None

    other = await gateway.api.post(
        "/v1/dealbrain/ask",
        json={"question": "Mine?"},
        headers={"Authorization": f"Bearer {KEY_GLOBEX}"},
    )
    assert other.status_code == 200
    assert server.handled[1][0].tenant_id == "globex"


async def test_a_session_message_is_a_turn_of_that_session(make_gateway, serve) -> None:
    server = await serve(AskRequest.message_type, answer, queue=ASK_QUEUE)
    gateway = await make_gateway()
    response = await gateway.api.post(
        "/v1/dealbrain/sessions/deal-7/messages", json={"content": "And the export clearance?"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["session_id"] == "deal-7"
    request, _ = server.handled[0]
    assert (request.session_id, request.question) == ("deal-7", "And the export clearance?")
    assert request.tenant_id == "acme"


async def test_hunt_and_assess_return_their_reply_fields(make_gateway, serve) -> None:
    lead = Lead(
        name="Hai Phong Steel",
        url="https://hp.example",
        score=0.8,
        factors={"relevance": 0.9},
        sources=[LeadSource(provider="searxng", title="About", url="https://hp.example/a")],
    )
    hunted = HuntReply(leads=[lead], partial=True, providers={"searxng": "ok", "b": "timeout"})
    assessed = AssessReply(
        counterparty="Hai Phong Steel",
        score=42.0,
        band="medium",
        factors=[
            RubricFactor(name="web", weight=0.6, value=0.7, contribution=42.0, explanation="site")
        ],
        evidence=[Evidence(source="search", provider="searxng", title="t", snippet="s")],
        rationale=None,
        degraded=["llm:no_rationale"],
    )
    hunt = await serve(HuntRequest.message_type, lambda _: hunted, queue="shadowhunter.hunt")
    assess = await serve(
        AssessRequest.message_type, lambda _: assessed, queue="shadowhunter.assess"
    )
    gateway = await make_gateway()

    response = await gateway.api.post(
        "/v1/shadowhunter/hunt", json={"query": "steel importers", "country": "Vietnam"}
    )
    assert response.status_code == 200, response.text
    assert response.json() == hunted.model_dump(mode="json")
    assert hunt.handled[0][0] == HuntRequest(
        tenant_id="acme", query="steel importers", country="Vietnam"
    )

    response = await gateway.api.post(
        "/v1/nexus/assess", json={"counterparty": "Hai Phong Steel", "rationale": False}
    )
    assert response.status_code == 200, response.text
    assert response.json() == assessed.model_dump(mode="json")
    assert assess.handled[0][0] == AssessRequest(
        tenant_id="acme", counterparty="Hai Phong Steel", rationale=False
    )


async def test_a_missed_deadline_is_504_and_the_server_drops_the_expired_request(
    make_gateway, serve
) -> None:
    # One request at a time, four prefetched: "late" waits inside the server behind "first".
    server = await serve(
        AskRequest.message_type, answer, queue=ASK_QUEUE, prefetch=4, concurrency=1
    )
    server.gate.clear()
    # (a floor below the client's 0.5s, which would otherwise be raised to the 1s default)
    gateway = await make_gateway(ask_deadline_seconds=30, min_request_timeout_seconds=0.1)
    expired = {"queue": ASK_QUEUE, "outcome": "expired"}
    timed_out = {"queue": ASK_QUEUE, "outcome": "timed_out"}

    def ended() -> float:
        return sample("tradebus_messages_total", expired) + sample(
            "tradebus_messages_total", timed_out
        )

    before = ended()
    short = {"X-Request-Timeout": "0.5"}  # the client's own, shorter deadline
    first, late = await asyncio.gather(
        gateway.api.post("/v1/dealbrain/ask", json={"question": "first"}, headers=short),
        gateway.api.post("/v1/dealbrain/ask", json={"question": "late"}, headers=short),
    )
    for response in (first, late):
        assert response.status_code == 504, response.text
        assert response.json()["code"] == "deadline_exceeded"
        assert response.json()["message"] == "dealbrain did not answer within 0.5s"
    # The server works on neither past its deadline: "first" is cancelled at it (the
    # handler's hard limit is the request's deadline), "late" is cancelled too or, when
    # it reaches the handler after its deadline, dropped unhandled.
    async with asyncio.timeout(10):
        while ended() < before + 2:
            await asyncio.sleep(0.02)
    server.gate.set()
    await asyncio.sleep(0.2)
    assert server.completed == []
    assert gateway.state.online["ask"].budget.in_flight == 0


async def test_no_server_for_the_request_is_503_with_retry_after(make_gateway) -> None:
    gateway = await make_gateway(unavailable_retry_after_seconds=3)
    for path, body in (
        ("/v1/dealbrain/ask", {"question": "anyone?"}),
        ("/v1/shadowhunter/hunt", {"query": "anyone?"}),
        ("/v1/nexus/assess", {"counterparty": "anyone"}),
    ):
        response = await gateway.api.post(path, json=body)
        assert response.status_code == 503, (path, response.text)
        assert response.headers["Retry-After"] == "3"
        assert response.json()["code"] == "unavailable"


async def test_a_broker_that_went_away_is_503(make_gateway, serve) -> None:
    await serve(AskRequest.message_type, answer, queue=ASK_QUEUE)
    gateway = await make_gateway()
    await gateway.state.bus.stop()
    response = await gateway.api.post("/v1/dealbrain/ask", json={"question": "hello?"})
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    assert response.json()["message"] == "dealbrain is unavailable; retry later"


def failing(request: AskRequest) -> AskReply:
    if request.question == "invalid":
        raise PermanentError("filters: unknown key 'colour'", code="invalid_request")
    if request.question == "broken":
        raise PermanentError("tenant index is corrupt", code="index_corrupt")
    raise RuntimeError("connection pool exhausted")


@pytest.mark.parametrize(
    ("question", "status", "code", "message"),
    [
        ("invalid", 422, "invalid_request", "filters: unknown key 'colour'"),
        ("broken", 502, "upstream_error", "dealbrain failed (index_corrupt)"),
        ("flaky", 503, "unavailable", "dealbrain failed temporarily (internal); retry later"),
    ],
)
async def test_remote_failures_map_by_code(
    make_gateway, serve, question: str, status: int, code: str, message: str
) -> None:
    await serve(AskRequest.message_type, failing, queue=ASK_QUEUE)
    gateway = await make_gateway()
    response = await gateway.api.post("/v1/dealbrain/ask", json={"question": question})
    assert response.status_code == status, response.text
    assert response.json() == {"code": code, "message": message}
    assert ("Retry-After" in response.headers) == (status == 503)


async def test_a_full_budget_is_429_at_once_and_publishes_nothing(
    make_gateway, serve, vhost
) -> None:
    # prefetch 1 and the only slot held: a request published now would wait in the queue.
    server = await serve(
        AskRequest.message_type, answer, queue=ASK_QUEUE, prefetch=1, concurrency=1
    )
    server.gate.clear()
    gateway = await make_gateway(ask_max_in_flight=1, busy_retry_after_seconds=2)
    held = asyncio.create_task(gateway.api.post("/v1/dealbrain/ask", json={"question": "held"}))
    await asyncio.wait_for(server.entered.wait(), 10)
    calls = rpc_calls(AskRequest.message_type)
    busy = {"endpoint": "ask", "outcome": "busy"}
    refusals = sample("tradebus_gateway_online_calls_total", busy)

    refused = await gateway.api.post(
        "/v1/dealbrain/sessions/s1/messages",
        json={"content": "me too"},  # same budget
    )
    assert refused.status_code == 429, refused.text
    assert refused.headers["Retry-After"] == "2"
    assert refused.json()["code"] == "overloaded"
    assert rpc_calls(AskRequest.message_type) == calls  # the RPC client was never called
    assert await ready_messages(vhost, ASK_QUEUE) == 0  # and nothing reached the queue
    assert sample("tradebus_gateway_online_calls_total", busy) == refusals + 1

    server.gate.set()
    assert (await held).status_code == 200
    assert [r.question for r, _ in server.handled] == ["held"]
    assert gateway.state.online["ask"].budget.in_flight == 0


async def test_without_a_valid_key_it_is_401_and_nothing_is_sent(make_gateway, serve) -> None:
    server = await serve(AskRequest.message_type, answer, queue=ASK_QUEUE)
    gateway = await make_gateway()
    for headers in ({"Authorization": ""}, {"Authorization": "Bearer tb_not_a_key"}):
        for path, body in (
            ("/v1/dealbrain/ask", {"question": "q"}),
            ("/v1/dealbrain/sessions/s1/messages", {"content": "q"}),
            ("/v1/shadowhunter/hunt", {"query": "qq"}),
            ("/v1/nexus/assess", {"counterparty": "qq"}),
        ):
            response = await gateway.api.post(path, json=body, headers=headers)
            assert response.status_code == 401, (path, response.text)
            assert response.headers["WWW-Authenticate"] == "Bearer"
            assert response.json()["code"] == "unauthorized"
    assert server.handled == []


INVALID = [  # path, body, headers, what the message names
    ("/v1/dealbrain/ask", {"question": ""}, {}, "question"),
    ("/v1/dealbrain/ask", {"question": "q", "top_k": 0}, {}, "top_k"),
    ("/v1/dealbrain/ask", {"question": "q", "session_id": "no spaces"}, {}, "session_id"),
    ("/v1/dealbrain/ask", {"question": "q"}, {"X-Request-Timeout": "-1"}, "X-Request-Timeout"),
    ("/v1/dealbrain/ask", {"question": "q"}, {"X-Request-Timeout": "nan"}, "X-Request-Timeout"),
    ("/v1/nexus/assess", {"counterparty": "Acme", "rationale": 0}, {}, "rationale"),
    ("/v1/dealbrain/ask", {"question": "q", "top_k": "5"}, {}, "top_k"),
    (
        "/v1/dealbrain/ask",
        {"question": "q"},
        {"X-Request-Timeout": "soon"},
        "X-Request-Timeout",
    ),
    ("/v1/dealbrain/sessions/bad%20id/messages", {"content": "q"}, {}, "session_id"),
    ("/v1/shadowhunter/hunt", {"query": "q", "limit": 51}, {}, "query"),
    ("/v1/nexus/assess", {}, {}, "counterparty"),
]


async def test_invalid_requests_are_422_before_anything_is_sent(make_gateway, serve) -> None:
    server = await serve(AskRequest.message_type, answer, queue=ASK_QUEUE)
    gateway = await make_gateway()
    for path, body, headers, where in INVALID:
        response = await gateway.api.post(path, json=body, headers=headers)
        assert response.status_code == 422, (path, body, headers, response.text)
        assert response.json()["code"] == "invalid_request"
        assert where in response.json()["message"], response.json()
    assert server.handled == []

"""The online routes' fast path answers what the FastAPI routes would, byte for byte: each
request goes to the gateway twice, once as it runs and once through the same app with
the fast path taken out, and the answers must be equal. The common case must be
answered by the fast path itself, and everything else handed to FastAPI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY

from tradebus_contracts import AskReply, AskRequest
from tradebus_gateway.online_fast_path import MAX_BODY_BYTES, OnlineFastPath

from .asgi_layers import Delegations, counting, without
from .conftest import KEY_ACME, KEY_OPERATOR

pytestmark = pytest.mark.integration

ASK = "/v1/dealbrain/ask"
JSON = {"Content-Type": "application/json"}


def answer(request: AskRequest) -> AskReply:
    return AskReply(answer=f"answer to {request.question}", latency_ms={"answer": 1.0})


class Twins:
    def __init__(self, fast: httpx.AsyncClient, plain: httpx.AsyncClient, seen: Delegations):
        self.fast, self.plain, self.delegated = fast, plain, seen

    async def both(self, path: str, **request: Any) -> httpx.Response:
        """Send the request both ways; assert the answers are equal; return one. A
        correlation id is sent when the case has none (else each answer has a new one)."""
        request["headers"] = {"X-Correlation-Id": "twins", **request.get("headers", {})}
        fast = await self.fast.post(path, **request)
        plain = await self.plain.post(path, **request)
        assert fast.status_code == plain.status_code, (fast.text, plain.text)
        assert fast.content == plain.content
        for header in ("content-type", "x-correlation-id", "www-authenticate", "retry-after"):
            assert fast.headers.get(header) == plain.headers.get(header), header
        return fast


@pytest.fixture
async def twins(make_gateway: Any, serve: Any) -> AsyncIterator[Twins]:
    await serve(AskRequest.message_type, answer, queue="dealbrain.ask")
    gateway = await make_gateway()
    app = gateway.app
    assert app.middleware_stack is not None  # built by the requests the fixture made
    # The key's first use resolves it through FastAPI (the directory awaits the lookup).
    assert (await gateway.api.post(ASK, json={"question": "warm up"})).status_code == 200
    seen = counting(app, OnlineFastPath)
    headers = {"Authorization": f"Bearer {KEY_ACME}"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=without(app, OnlineFastPath)),
        base_url="http://gateway",
        headers=headers,
        timeout=30,
    ) as plain:
        yield Twins(gateway.api, plain, seen)


async def test_the_common_case_is_answered_by_the_fast_path_as_fastapi_would(twins) -> None:
    before = twins.delegated.count
    response = await twins.both(
        ASK,
        json={"question": "Who pays duty?", "top_k": 3, "filters": {"region": "EU"}},
        headers={"X-Correlation-Id": "order-7", "X-Request-Timeout": "5"},
    )
    assert response.status_code == 200
    assert response.json()["answer"] == "answer to Who pays duty?"
    assert response.headers["x-correlation-id"] == "order-7"
    # A charset parameter is still JSON.
    await twins.both(
        ASK,
        content=b'{"question": "Who pays duty?"}',
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    # The plain twin's requests reach FastAPI without the fast path, so none counted.
    assert twins.delegated.count == before


async def test_what_the_fast_path_does_not_take_is_fastapis_answer(twins) -> None:
    cases: list[dict[str, Any]] = [
        {"content": b'{"question": ', "headers": JSON},  # not JSON
        {"content": b"\xff\xfe{}", "headers": JSON},  # not UTF-8
        {"json": {"question": ""}},  # fails validation
        {"json": ["a list"]},
        {"content": b"", "headers": JSON},
        {"content": b'{"question": "x"}', "headers": {"Content-Type": "text/plain"}},
        {"content": b'{"question": "x"}', "headers": {"Content-Type": "application/x+json"}},
        {"json": {"question": "x"}, "headers": {"X-Request-Timeout": "soon"}},
        {"json": {"question": "x"}, "headers": {"X-Request-Timeout": "1" * 33}},
        {"json": {"question": "x"}, "headers": {"Authorization": "Basic abc"}},
        {"json": {"question": "x"}, "headers": {"Authorization": "Bearer"}},
        {"json": {"question": "x"}, "headers": {"Authorization": "Bearer tb_nobody"}},
        {"json": {"question": "x"}, "headers": {"Authorization": f"Bearer {KEY_OPERATOR}"}},
    ]
    statuses = []
    for case in cases:
        before = twins.delegated.count
        response = await twins.both(ASK, **case)
        assert twins.delegated.count == before + 1, case
        statuses.append(response.status_code)
    # (`application/x+json` is JSON to FastAPI: answered, by FastAPI)
    assert statuses == [422, 422, 422, 422, 422, 422, 200, 422, 422, 401, 401, 401, 403]


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:  # no Content-Length: sent chunked
        yield part


async def test_an_online_body_over_64_kib_is_refused_unread(twins) -> None:
    over = {"question": "x" * MAX_BODY_BYTES}
    paths = [ASK, "/v1/dealbrain/sessions/s-1/messages", "/v1/shadowhunter/hunt"]
    for path in paths:
        for request in (
            {"json": over},  # declared by its Content-Length
            {"content": chunks(b"{" * MAX_BODY_BYTES, b"{" * 16)},
        ):
            # before the key is looked at: an unknown key is refused the same way
            response = await twins.fast.post(
                path,
                **request,
                headers={"Authorization": "Bearer tb_nobody", "Content-Type": "application/json"},
            )
            assert response.status_code == 413, (path, response.text)
            assert response.json() == {
                "code": "too_large",
                "message": f"request body exceeds {MAX_BODY_BYTES} bytes",
            }
    # the limit is the fast path's: a body of exactly the limit is read and judged
    response = await twins.fast.post(ASK, content=b" " * MAX_BODY_BYTES, headers=JSON)
    assert response.status_code == 422


async def test_refusals_of_the_call_itself_are_the_same_answers(make_gateway) -> None:
    # Two requests per two seconds, and no shadowhunter serving: two 503s (unroutable),
    # then two 429s (the rate spent), one of each from either path.
    gateway = await make_gateway(tenant_rate_per_second=1, tenant_burst=2)
    plain = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=without(gateway.app, OnlineFastPath)),
        base_url="http://gateway",
        headers={"Authorization": f"Bearer {KEY_ACME}"},
    )
    request = {
        "json": {"query": "steel importers", "country": "Vietnam"},
        "headers": {"X-Correlation-Id": "twins"},
    }
    async with plain:
        answers = [
            await client.post("/v1/shadowhunter/hunt", **request)
            for _ in range(2)
            for client in (gateway.api, plain)
        ]
    assert [a.status_code for a in answers] == [503, 503, 429, 429]
    for fast, slow in (answers[:2], answers[2:]):
        assert fast.content == slow.content
        assert fast.headers["x-correlation-id"] == slow.headers["x-correlation-id"] == "twins"
        assert fast.headers["retry-after"] and slow.headers["retry-after"]
    assert answers[2].json()["code"] == "rate_limited"


async def test_fast_path_answers_are_counted_under_their_route(twins) -> None:
    labels = {"method": "POST", "route": ASK, "status": "200"}
    before = REGISTRY.get_sample_value("tradebus_http_request_seconds_count", labels) or 0.0
    await twins.fast.post(ASK, json={"question": "Who pays duty?"})
    after = REGISTRY.get_sample_value("tradebus_http_request_seconds_count", labels)
    assert after == before + 1

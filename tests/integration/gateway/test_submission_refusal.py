"""A full backlog's 429 answered in front of FastAPI: the same answer as the route's own
first dependency gives, on both submission routes, before the body is read; what the
layer does not judge goes on to the route."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from prometheus_client import REGISTRY

from tradebus_gateway.submission_refusal import SubmissionRefusal

from .asgi_layers import counting, without

pytestmark = pytest.mark.integration

DOCUMENT = {"json": {"title": "t", "text": "FOB terms."}}


async def full(make_gateway):
    gateway = await make_gateway(
        ingest_backlog_floor=2, ingest_tenant_share=1.0, admission_sample_seconds=60
    )
    async with asyncio.timeout(15):
        while not gateway.state.admission.sampled:
            await asyncio.sleep(0.02)
    codes = [
        (await gateway.api.post("/v1/rag/documents", **DOCUMENT)).status_code for _ in range(3)
    ]
    assert codes == [202, 202, 429]  # (no new sample for a minute: the count is exact)
    return gateway


async def test_a_refusal_is_the_routes_own_answer_given_in_front_of_it(make_gateway) -> None:
    gateway = await full(make_gateway)
    handed_on = counting(gateway.app, SubmissionRefusal)
    plain = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=without(gateway.app, SubmissionRefusal)),
        base_url="http://gateway",
        headers=dict(gateway.api.headers),
    )
    labels = {"method": "POST", "route": "/v1/rag/documents", "status": "429"}
    counted = REGISTRY.get_sample_value("tradebus_http_request_seconds_count", labels) or 0.0
    requests = [
        ("/v1/rag/documents", DOCUMENT),
        ("/v1/rag/documents", {"content": b"not even json"}),  # refused before the body
        ("/v1/rag/batches", {"json": {"documents": [{"title": "t", "text": "x"}]}}),
    ]
    async with plain:
        for path, request in requests:
            fast, slow = await gateway.api.post(path, **request), await plain.post(path, **request)
            assert fast.status_code == slow.status_code == 429, (fast.text, slow.text)
            assert fast.content == slow.content
            assert fast.headers["retry-after"] == slow.headers["retry-after"]
            assert fast.json()["code"] == "overloaded"
    assert handed_on.count == 0  # every one answered in front of FastAPI
    after = REGISTRY.get_sample_value("tradebus_http_request_seconds_count", labels)
    assert after == counted + 4  # two each way on this route, under its template


async def test_what_it_does_not_judge_goes_on_to_the_route(make_gateway) -> None:
    gateway = await full(make_gateway)
    handed_on = counting(gateway.app, SubmissionRefusal)
    unknown = await gateway.api.post(
        "/v1/rag/documents", **DOCUMENT, headers={"Authorization": "Bearer tb_nobody"}
    )
    assert unknown.status_code == 401
    operator = await gateway.operator.post("/v1/rag/documents", **DOCUMENT)
    assert operator.status_code == 403
    listed = await gateway.api.get("/v1/rag/documents")
    assert listed.status_code == 200
    assert handed_on.count == 3

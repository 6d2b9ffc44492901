"""REST request metrics: labelled by route template and status, never by raw path."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI, HTTPException
from prometheus_client import REGISTRY

from tradebus_gateway.request_metrics import RequestMetrics


def app() -> FastAPI:
    api = FastAPI()
    api.add_middleware(RequestMetrics, exclude={"/ut/healthz"})

    @api.get("/ut/items/{item_id}")
    async def item(item_id: str) -> dict[str, str]:
        if item_id == "missing":
            raise HTTPException(404, "no such item")
        return {"id": item_id}

    @api.post("/ut/boom")
    async def boom() -> None:
        raise RuntimeError("bug")

    @api.get("/ut/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return api


def count(method: str, route: str, status: str) -> float:
    value = REGISTRY.get_sample_value(
        "tradebus_http_request_seconds_count",
        {"method": method, "route": route, "status": status},
    )
    return value or 0.0


@pytest.fixture
async def client() -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


async def test_requests_are_counted_by_route_template_and_status(client) -> None:
    before_ok = count("GET", "/ut/items/{item_id}", "200")
    before_404 = count("GET", "/ut/items/{item_id}", "404")
    for item in ("a1", "b2", "c3"):
        assert (await client.get(f"/ut/items/{item}")).status_code == 200
    assert (await client.get("/ut/items/missing")).status_code == 404
    assert count("GET", "/ut/items/{item_id}", "200") == before_ok + 3
    assert count("GET", "/ut/items/{item_id}", "404") == before_404 + 1
    assert count("GET", "/ut/items/a1", "200") == 0  # no raw paths


async def test_an_unhandled_error_counts_as_500(client) -> None:
    before = count("POST", "/ut/boom", "500")
    assert (await client.post("/ut/boom")).status_code == 500
    assert count("POST", "/ut/boom", "500") == before + 1


async def test_unknown_paths_share_one_series_and_excluded_routes_none(client) -> None:
    before = count("GET", "unmatched", "404")
    await client.get("/ut/nowhere/1")
    await client.get("/ut/nowhere/2")
    assert count("GET", "unmatched", "404") == before + 2
    await client.get("/ut/healthz")
    assert count("GET", "/ut/healthz", "200") == 0

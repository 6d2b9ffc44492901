"""The fault server itself: its control API, fault routing, and running as a process
(the way end-to-end tests point real services at it)."""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.fault_server import FaultServer, FaultServerClient

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
CHAT = {"model": "m", "messages": [{"role": "user", "content": "hello"}]}


async def test_faults_route_from_exact_to_family_to_star(fault_server: FaultServer) -> None:
    await fault_server.set_faults(
        {"route": "*", "status": 500},
        {"route": "search", "status": 502},
        {"route": "search:acme", "status": 503},
    )
    async with httpx.AsyncClient(base_url=fault_server.url) as client:
        params = {"q": "x", "format": "json"}
        assert (await client.get("/engines/acme/search", params=params)).status_code == 503
        assert (await client.get("/engines/other/search", params=params)).status_code == 502
        assert (await client.get("/search", params=params)).status_code == 502
        assert (await client.post("/v1/rerank", json={"documents": []})).status_code == 500
        await fault_server.set_faults(route="*")  # a bare route clears its fault
        assert (await client.post("/v1/rerank", json={"documents": []})).status_code == 200
    stats = await fault_server.stats()
    assert set(stats) == {"search:acme", "search:other", "search", "rerank"}
    assert stats["rerank"]["statuses"] == {"200": 1, "500": 1}


async def test_failures_carry_retry_after(fault_server: FaultServer) -> None:
    await fault_server.set_faults(route="chat", status=429, retry_after=2, fail_first=1)
    async with httpx.AsyncClient(base_url=fault_server.url) as client:
        first = await client.post("/v1/chat/completions", json=CHAT)
        second = await client.post("/v1/chat/completions", json=CHAT)
    assert first.status_code == 429 and first.headers["retry-after"] == "2"
    assert second.status_code == 200


async def test_control_api_refuses_unknown_routes_and_fields(fault_server: FaultServer) -> None:
    async with httpx.AsyncClient(base_url=fault_server.url) as client:
        bad_route = await client.post("/_control/faults", json={"route": "llm", "status": 500})
        bad_field = await client.post("/_control/faults", json={"route": "chat", "stauts": 500})
    assert bad_route.status_code == 400 and "route must be" in bad_route.text
    assert bad_field.status_code == 400 and "stauts" in bad_field.text


async def test_reset_clears_faults_stats_and_corpora(fault_server: FaultServer) -> None:
    await fault_server.set_faults(route="chat", status=500)
    await fault_server.load_corpus([{"title": "Only", "url": "https://only.example.com"}])
    async with httpx.AsyncClient(base_url=fault_server.url) as client:
        await client.post("/v1/chat/completions", json=CHAT)
        await fault_server.reset()
        assert await fault_server.stats() == {}
        assert (await client.post("/v1/chat/completions", json=CHAT)).status_code == 200
        page = (await client.get("/search", params={"q": "only", "format": "json"})).json()
    assert "https://only.example.com" not in {r["url"] for r in page["results"]}


async def test_chat_answers_the_openai_shape(fault_server: FaultServer) -> None:
    body = {
        "model": "fake-1",
        "max_tokens": 3,
        "messages": [
            {"role": "system", "content": "[1] Reminders go out at 7, 21 and 35 days overdue."},
            {"role": "user", "content": "When do reminders go out?"},
        ],
    }
    async with httpx.AsyncClient(base_url=fault_server.url) as client:
        reply = (await client.post("/v1/chat/completions", json=body)).json()
    choice = reply["choices"][0]
    assert choice["message"] == {"role": "assistant", "content": "Reminders go out"}
    assert choice["finish_reason"] == "length" and reply["model"] == "fake-1"
    usage = reply["usage"]
    assert usage["completion_tokens"] == 3
    assert usage["total_tokens"] == usage["prompt_tokens"] + 3


async def test_search_needs_the_json_format(fault_server: FaultServer) -> None:
    async with httpx.AsyncClient(base_url=fault_server.url) as client:
        response = await client.get("/search", params={"q": "valves"})
    assert response.status_code == 403


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_runs_as_a_process() -> None:
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.support.fault_server", "--port", str(port), cwd=ROOT
    )
    server = FaultServerClient(f"http://127.0.0.1:{port}")
    try:
        async with httpx.AsyncClient(base_url=server.url) as client:
            for _ in range(200):
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.05)
            else:
                pytest.fail(f"the fault server process did not answer on port {port}")
            await server.set_faults(route="chat", status=503, fail_first=1)
            statuses = [
                (await client.post("/v1/chat/completions", json=CHAT)).status_code for _ in range(2)
            ]
        assert statuses == [503, 200]
        assert (await server.stats("chat"))["statuses"] == {"200": 1, "503": 1}
    finally:
        process.terminate()
        # uvicorn shuts down gracefully, then re-raises the SIGTERM it caught.
        assert await process.wait() in (0, -signal.SIGTERM)

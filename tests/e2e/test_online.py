"""The online path through the gateway, with every service a real process: documents
ingested through the public API answer questions with citations, a conversation runs
through its session, lead hunting and counterparty assessment answer with scores.

The search engine and the LLM are the fault server (tests/support/fault_server.py), a
deterministic stand-in for SearXNG and an OpenAI-compatible API, in this test's process."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.fault_server import running_fault_server
from tests.support.infra import require_mongodb, require_rabbitmq
from tests.support.stack import Stack
from tests.support.vhost import isolated_vhost
from tradebus_storage import MongoSettings, create_client

pytestmark = pytest.mark.e2e

DOCS = Path(__file__).resolve().parents[2] / "samples" / "documents"
KEY = "tb_e2e_online_" + uuid.uuid4().hex
TYPES = {".md": "text/markdown", ".txt": "text/plain", ".html": "text/html"}
SERVICES = ("gateway", "omnirag-ingest", "omnirag-embed", "dealbrain", "shadowhunter")


@dataclass
class Online:
    stack: Stack
    documents: dict[str, str]  # file name -> document id


@pytest.fixture(scope="module")
async def online(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Online]:
    require_rabbitmq()
    require_mongodb()
    database = f"e2e_online_{uuid.uuid4().hex[:10]}"
    async with (
        running_fault_server() as providers,
        isolated_vhost("e2e-online") as amqp_url,
    ):
        stack = Stack(
            database=database,
            base_port=18_300,  # the ingestion e2e uses 18_100
            logs=tmp_path_factory.mktemp("online-logs"),
            env={
                "RABBITMQ_URL": amqp_url,
                "TRADEBUS_LOG_JSON": "true",
                "TRADEBUS_BOOTSTRAP_API_KEY": KEY,
                "TRADEBUS_SEARCH_ENDPOINTS": json.dumps({"web": providers.url}),
                "TRADEBUS_LLM_PROVIDER": "openai",
                "TRADEBUS_LLM_BASE_URL": providers.url,
                "TRADEBUS_LLM_MODEL": "stand-in",
            },
        )
        for service in SERVICES:
            stack.add(service, service)
        await stack.start_all()
        try:
            async with api_client(stack) as api:
                documents = await ingest_samples(api)
            yield Online(stack, documents)
        finally:
            await stack.stop_all()
            client = create_client(MongoSettings())
            await client.drop_database(database)
            await client.close()


def api_client(stack: Stack) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=stack.processes["gateway"].url,
        headers={"Authorization": f"Bearer {KEY}"},
        timeout=30,
    )


async def ingest_samples(api: httpx.AsyncClient) -> dict[str, str]:
    """Upload the text samples through the public API; wait until each has succeeded."""
    accepted: dict[str, dict[str, Any]] = {}
    for path in sorted(DOCS.iterdir()):
        if path.suffix not in TYPES:
            continue
        response = await api.post(
            "/v1/rag/documents",
            files={"file": (path.name, path.read_bytes(), TYPES[path.suffix])},
            data={"title": path.stem.replace("-", " ")},
        )
        assert response.status_code == 202, response.text
        accepted[path.name] = response.json()
    async with asyncio.timeout(120):
        for item in accepted.values():
            while (task := (await api.get(f"/v1/tasks/{item['task_id']}")).json())[
                "status"
            ] not in ("succeeded", "failed"):
                await asyncio.sleep(0.2)
            assert task["status"] == "succeeded", task
    return {name: item["document_id"] for name, item in accepted.items()}


@pytest.fixture
async def api(online: Online) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(online.stack) as client:
        yield client


async def test_ask_answers_with_citations_from_the_document_that_holds_the_answer(
    api, online
) -> None:
    response = await api.post(
        "/v1/dealbrain/ask",
        json={
            "question": "Which sanctions lists must a new overseas supplier and its "
            "beneficial owners be screened against?",
            "top_k": 3,
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["answer"].strip()
    assert body["citations"], body
    onboarding = online.documents["supplier-onboarding-checklist.txt"]
    assert body["citations"][0]["document_id"] == onboarding, body["citations"]
    assert all(c["snippet"] and c["chunk_id"] for c in body["citations"])
    assert body["retrieved"] >= len(body["citations"])
    assert response.headers["X-Correlation-Id"]


async def test_a_conversation_runs_through_its_session(api, online) -> None:
    session = f"deal-{uuid.uuid4().hex[:8]}"
    policy = online.documents["payment-terms-policy.md"]
    turns = [
        "What payment terms do new international customers start on?",
        "And which security is required when an order is above the customer's credit limit?",
    ]
    for content in turns:
        response = await api.post(
            f"/v1/dealbrain/sessions/{session}/messages", json={"content": content}
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["session_id"] == session
        assert body["answer"].strip()
        assert policy in {c["document_id"] for c in body["citations"]}, body["citations"]
    # The same conversation continues through /ask with its session id.
    again = await api.post(
        "/v1/dealbrain/ask",
        json={"question": "Who sets each customer's credit limit?", "session_id": session},
    )
    assert again.status_code == 200, again.text
    assert again.json()["session_id"] == session


async def test_hunt_answers_with_scored_leads(api) -> None:
    response = await api.post(
        "/v1/shadowhunter/hunt",
        json={"query": "cold rolled steel coil importers", "country": "Vietnam", "limit": 5},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert 1 <= len(body["leads"]) <= 5, body
    scores = [lead["score"] for lead in body["leads"]]
    assert scores == sorted(scores, reverse=True)
    assert all(0 <= s <= 1 for s in scores)
    assert all(lead["name"] and lead["sources"] for lead in body["leads"])
    assert body["providers"] and set(body["providers"].values()) <= {
        "ok",
        "timeout",
        "error",
        "circuit_open",
        "busy",
    }


async def test_assess_answers_with_a_score_and_its_factors(api) -> None:
    response = await api.post(
        "/v1/nexus/assess",
        json={"counterparty": "Hai Phong Steel JSC", "country": "Vietnam"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["counterparty"] == "Hai Phong Steel JSC"
    assert body["factors"], body
    assert 0 <= body["score"] <= 100
    assert body["score"] == pytest.approx(sum(f["contribution"] for f in body["factors"]), abs=0.1)
    assert body["band"] in {"low", "medium", "high"}
    assert all(f["explanation"] for f in body["factors"])

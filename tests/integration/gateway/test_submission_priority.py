"""A submission's priority: recorded on the task, carried by the ingest command
(`cloudEvents:priority`) onto its lane of the fair ingest queue, 422 when unknown."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.integration.gateway.conftest import bus_settings
from tradebus_contracts import REGISTRY, IngestDocument
from tradebus_messaging import Bus, MessageContext
from tradebus_messaging.fairness import LanePicker, lane_queue, shard_queue

pytestmark = pytest.mark.integration

QUEUE = "omnirag-ingest.ingest"
BOUNDARY = "tb-priority"


def multipart(**fields: str) -> bytes:
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields.items()
    ]
    file = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n'
        "Content-Type: text/plain\r\n\r\nFOB terms\r\n"
    )
    return ("".join(parts) + file + f"--{BOUNDARY}--\r\n").encode()


@pytest.fixture
async def ingest(vhost: str) -> Any:
    """A stand-in for omnirag-ingest's fair endpoint: records what arrives, and where."""
    seen: list[MessageContext] = []

    async def record(cmd: IngestDocument, ctx: MessageContext) -> None:
        seen.append(ctx)

    bus = Bus(bus_settings(vhost, service="omnirag-ingest"), registry=REGISTRY)
    bus.subscribe(
        queue=QUEUE, message_types=[IngestDocument.message_type], handler=record, fair=True
    )
    await bus.start()
    yield seen
    await bus.stop()


async def arrived(seen: list[MessageContext], n: int) -> None:
    async with asyncio.timeout(15):
        while len(seen) < n:
            await asyncio.sleep(0.05)


async def test_a_high_priority_document_is_recorded_and_spreads_over_more_shards(
    make_gateway, ingest
) -> None:
    gateway = await make_gateway()
    for _ in range(4):
        response = await gateway.api.post(
            "/v1/rag/documents", json={"title": "t", "text": "FOB", "priority": "high"}
        )
        assert response.status_code == 202, response.text
    task = await gateway.state.tasks.get("acme", response.json()["task_id"])
    assert task is not None and task.params["priority"] == "high"
    await arrived(ingest, 4)
    assert {ctx.envelope.priority for ctx in ingest} == {"high"}
    high = {shard_queue(QUEUE, s) for s in LanePicker(8).shards_of("acme", "high")}
    assert len(high) == 4
    assert {ctx.lane for ctx in ingest} == high  # rotated over all four


async def test_a_bulk_upload_goes_to_the_bulk_lane_and_normal_is_the_default(
    make_gateway, ingest
) -> None:
    gateway = await make_gateway()
    response = await gateway.api.post(
        "/v1/rag/documents",
        content=multipart(priority="bulk"),
        headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
    )
    assert response.status_code == 202, response.text
    response = await gateway.api.post("/v1/rag/documents", json={"title": "t", "text": "FOB"})
    assert response.status_code == 202, response.text
    task = await gateway.state.tasks.get("acme", response.json()["task_id"])
    assert task is not None and task.params["priority"] == "normal"
    await arrived(ingest, 2)
    lanes = {ctx.envelope.priority: ctx.lane for ctx in ingest}
    assert lanes == {
        "bulk": lane_queue(QUEUE, "bulk"),
        "normal": shard_queue(QUEUE, LanePicker(8).home("acme")),
    }


@pytest.mark.parametrize("form", [False, True])
async def test_an_unknown_priority_is_422(make_gateway, form: bool) -> None:
    gateway = await make_gateway()
    if form:
        response = await gateway.api.post(
            "/v1/rag/documents",
            content=multipart(priority="urgent"),
            headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
        )
    else:
        response = await gateway.api.post(
            "/v1/rag/documents", json={"title": "t", "text": "FOB", "priority": "urgent"}
        )
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid_request"
    assert "priority" in response.json()["message"]

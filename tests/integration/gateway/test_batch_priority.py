"""A batch's priority: one for the whole batch (JSON body or form field), a JSON document
may give its own; recorded on each child task as for a single document (so the
watchdog's re-publish keeps it) and carried by each child's command onto its lane of the
fair ingest queue; 422 when unknown."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from tests.integration.gateway.conftest import bus_settings
from tradebus_contracts import REGISTRY, IngestDocument
from tradebus_gateway.watchdog import Watchdog, WatchdogPolicy
from tradebus_messaging import Bus, MessageContext
from tradebus_messaging.fairness import LanePicker, lane_queue, shard_queue

pytestmark = pytest.mark.integration

QUEUE = "omnirag-ingest.ingest"
BOUNDARY = "tb-batch-priority"
FORM = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}


def form(files: int, **fields: str) -> bytes:
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields.items()
    ]
    parts += [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="f{i}.txt"\r\n'
        f"Content-Type: text/plain\r\n\r\nFOB terms {i}\r\n"
        for i in range(files)
    ]
    return ("".join(parts) + f"--{BOUNDARY}--\r\n").encode()


def docs(*titles: str, **extra: Any) -> dict[str, Any]:
    return {"documents": [{"title": t, "text": f"{t}: FOB"} for t in titles], **extra}


@pytest.fixture
async def ingest(vhost: str) -> Any:
    """A stand-in for omnirag-ingest's fair endpoint: records what arrives, and where."""
    seen: dict[str, MessageContext] = {}

    async def record(cmd: IngestDocument, ctx: MessageContext) -> None:
        seen[cmd.task_id] = ctx

    bus = Bus(bus_settings(vhost, service="omnirag-ingest"), registry=REGISTRY)
    bus.subscribe(
        queue=QUEUE, message_types=[IngestDocument.message_type], handler=record, fair=True
    )
    await bus.start()
    yield seen
    await bus.stop()


async def arrived(seen: dict[str, MessageContext], task_ids: list[str]) -> None:
    async with asyncio.timeout(15):
        while not set(task_ids) <= seen.keys():
            await asyncio.sleep(0.05)


def child_ids(response: Any) -> list[str]:
    assert response.status_code == 202, response.text
    return [d["task_id"] for d in response.json()["documents"]]


async def recorded(gateway: Any, task_ids: list[str]) -> list[str]:
    tasks = [await gateway.state.tasks.get("acme", t) for t in task_ids]
    return [t.params["priority"] for t in tasks if t is not None]


async def test_a_bulk_batch_lands_on_the_bulk_lane(make_gateway, ingest) -> None:
    gateway = await make_gateway()
    response = await gateway.api.post(
        "/v1/rag/batches", content=form(3, priority="bulk"), headers=FORM
    )
    children = child_ids(response)
    assert await recorded(gateway, children) == ["bulk"] * 3
    await arrived(ingest, children)
    assert {ingest[t].envelope.priority for t in children} == {"bulk"}
    assert {ingest[t].lane for t in children} == {lane_queue(QUEUE, "bulk")}


async def test_a_high_batch_spreads_over_the_tenants_shards_and_a_document_may_differ(
    make_gateway, ingest
) -> None:
    gateway = await make_gateway()
    body = docs("a", "b", "c", "d", priority="high")
    body["documents"].append({"title": "e", "text": "e: FOB", "priority": "bulk"})
    children = child_ids(await gateway.api.post("/v1/rag/batches", json=body))
    assert await recorded(gateway, children) == ["high"] * 4 + ["bulk"]
    await arrived(ingest, children)
    high = {shard_queue(QUEUE, s) for s in LanePicker(8).shards_of("acme", "high")}
    assert len(high) == 4
    assert {ingest[t].lane for t in children[:4]} == high  # rotated over all four
    assert ingest[children[4]].lane == lane_queue(QUEUE, "bulk")


async def test_normal_is_the_default_for_json_and_form(make_gateway, ingest) -> None:
    gateway = await make_gateway()
    children = child_ids(await gateway.api.post("/v1/rag/batches", json=docs("a")))
    children += child_ids(await gateway.api.post("/v1/rag/batches", content=form(1), headers=FORM))
    assert await recorded(gateway, children) == ["normal", "normal"]
    await arrived(ingest, children)
    home = shard_queue(QUEUE, LanePicker(8).home("acme"))
    assert {ingest[t].lane for t in children} == {home}


async def test_the_watchdog_republishes_a_child_on_its_lane(make_gateway, ingest) -> None:
    gateway = await make_gateway()
    children = child_ids(await gateway.api.post("/v1/rag/batches", json=docs("a", priority="bulk")))
    await arrived(ingest, children)
    ingest.clear()
    tasks = gateway.state.tasks
    # As if the process died between the write and the publish: queued, never published.
    await gateway.state.db["tasks"].update_one(
        {"_id": children[0]}, {"$unset": {"published_at": ""}}
    )
    policy = replace(WatchdogPolicy.from_settings(gateway.state.settings), stuck_after=timedelta())
    run = await Watchdog(gateway.state.bus, tasks, policy).run_once()
    assert run.republished == 1
    await arrived(ingest, children)
    assert ingest[children[0]].lane == lane_queue(QUEUE, "bulk")


@pytest.mark.parametrize("as_form", [False, True])
async def test_an_unknown_batch_priority_is_422_and_stores_nothing(
    make_gateway, as_form: bool
) -> None:
    gateway = await make_gateway()
    if as_form:
        response = await gateway.api.post(
            "/v1/rag/batches", content=form(1, priority="urgent"), headers=FORM
        )
    else:
        response = await gateway.api.post("/v1/rag/batches", json=docs("a", priority="urgent"))
    assert response.status_code == 422, response.text
    assert "priority" in response.json()["message"]
    assert await gateway.state.db["tasks"].count_documents({}) == 0
    assert await gateway.state.db["blobs.files"].count_documents({}) == 0


async def test_the_openapi_states_the_batch_priority(make_gateway) -> None:
    gateway = await make_gateway()
    openapi = (await gateway.api.get("/openapi.json")).json()
    body = openapi["paths"]["/v1/rag/batches"]["post"]["requestBody"]["content"]
    for media in ("application/json", "multipart/form-data"):
        priority = body[media]["schema"]["properties"]["priority"]
        assert priority["enum"] == ["high", "normal", "bulk"] and priority["default"] == "normal"
    item = body["application/json"]["schema"]["properties"]["documents"]["items"]
    assert "default" not in item["properties"]["priority"]  # the batch's, unless given

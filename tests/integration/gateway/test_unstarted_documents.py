"""A document is a resource from the 202 of its submission, before any ingest worker has
written it: readable as `queued` (and `failed` when its task ended first), deletable, and
another tenant's id answers 404 as for any document."""

from __future__ import annotations

import pytest

from tests.integration.gateway.conftest import KEY_GLOBEX
from tradebus_contracts import TaskStatus
from tradebus_storage import DELETED

pytestmark = pytest.mark.integration


async def submitted(gateway, title: str = "Incoterms") -> tuple[str, str]:
    response = await gateway.api.post(
        "/v1/rag/documents",
        json={"title": title, "text": "FOB and CIF.", "metadata": {"region": "EU"}},
    )
    assert response.status_code == 202, response.text
    return response.json()["document_id"], response.json()["task_id"]


async def test_a_document_nobody_ingested_yet_reads_as_queued(make_gateway) -> None:
    gateway = await make_gateway()  # no ingest worker runs: the document stays unstarted
    document_id, task_id = await submitted(gateway)
    read = await gateway.api.get(f"/v1/rag/documents/{document_id}")
    assert read.status_code == 200, read.text
    body = read.json()
    assert (body["id"], body["status"], body["title"]) == (document_id, "queued", "Incoterms")
    assert body["reindex_task_id"] == task_id and body["metadata"] == {"region": "EU"}
    assert body["source"]["kind"] == "text" and body["version"] == 0
    busy = await gateway.api.post(f"/v1/rag/documents/{document_id}/reindex")
    assert busy.status_code == 409, busy.text  # its first version is on its way
    other = await gateway.api.get(
        f"/v1/rag/documents/{document_id}", headers={"Authorization": f"Bearer {KEY_GLOBEX}"}
    )
    assert other.status_code == 404


async def test_a_task_that_ended_before_writing_its_document_reads_as_failed(
    make_gateway,
) -> None:
    gateway = await make_gateway()
    document_id, task_id = await submitted(gateway)
    await gateway.state.tasks.fail("acme", task_id, "malformed", "parked before its handler")
    body = (await gateway.api.get(f"/v1/rag/documents/{document_id}")).json()
    assert body["status"] == "failed" and body["error"] == "parked before its handler"


async def test_deleting_an_unstarted_document_tombstones_it_and_cancels_its_task(
    make_gateway,
) -> None:
    gateway = await make_gateway()
    document_id, task_id = await submitted(gateway)
    foreign = await gateway.api.delete(
        f"/v1/rag/documents/{document_id}", headers={"Authorization": f"Bearer {KEY_GLOBEX}"}
    )
    assert foreign.status_code == 404
    deleted = await gateway.api.delete(f"/v1/rag/documents/{document_id}")
    assert deleted.status_code == 204, deleted.text
    task = await gateway.state.tasks.get("acme", task_id)
    assert task is not None and task.status is TaskStatus.CANCELLED
    # A worker that picks the command up later finds the tombstone (and a cancelled task).
    tombstone = await gateway.state.db["documents"].find_one({"_id": document_id})
    assert tombstone is not None and tombstone["status"] == DELETED
    assert tombstone["tenant_id"] == "acme" and tombstone["source"]["kind"] == "text"
    assert (await gateway.api.get(f"/v1/rag/documents/{document_id}")).status_code == 404
    again = await gateway.api.delete(f"/v1/rag/documents/{document_id}")
    assert again.status_code == 204  # a retried delete is safe

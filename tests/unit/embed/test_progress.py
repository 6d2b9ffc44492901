"""omnirag-embed's pure rules: which batches run, when a document is complete."""

from __future__ import annotations

import pytest

from tradebus_contracts import TaskStatus
from tradebus_omnirag_embed.domain import (
    batch_is_runnable,
    document_complete,
    indexed_message_id,
    indexed_result,
)


@pytest.mark.parametrize(
    ("status", "runnable"),
    [
        (TaskStatus.RUNNING, True),
        (TaskStatus.RETRYING, True),
        (TaskStatus.QUEUED, True),
        (TaskStatus.CANCELLED, False),
        (TaskStatus.FAILED, False),
        (TaskStatus.SUCCEEDED, False),
        (None, False),
    ],
)
def test_only_batches_of_live_tasks_are_embedded(status: TaskStatus | None, runnable: bool) -> None:
    assert batch_is_runnable(status) is runnable


def test_the_document_completes_once_every_batch_is_counted() -> None:
    assert not document_complete(TaskStatus.RUNNING, 2, 3)
    assert document_complete(TaskStatus.RUNNING, 3, 3)
    assert not document_complete(TaskStatus.CANCELLED, 3, 3)
    assert not document_complete(TaskStatus.FAILED, 3, 3)


def test_the_indexed_event_and_result_are_deterministic() -> None:
    assert indexed_message_id("t9") == "t9.indexed"
    result = indexed_result("d1", {"title": "T", "chunk_count": 4}, model="hashing-384")
    assert result == {
        "document_id": "d1",
        "title": "T",
        "chunk_count": 4,
        "duplicate_chunks": 0,
        "embedding_model": "hashing-384",
    }

"""Documents as resources, the pure parts: cursors, the metadata filter, the read model."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from tradebus_gateway.api.document_models import METADATA_FILTER_PATTERN, DocumentOut
from tradebus_gateway.document_flows import deleted_message_id
from tradebus_storage import DocumentRecord, InvalidDocumentCursor
from tradebus_storage.document_catalog import decode_cursor, encode_cursor

NOW = datetime(2026, 12, 1, 12, 30, tzinfo=UTC)


def record(*, without: tuple[str, ...] = (), **fields: object) -> DocumentRecord:
    base: dict[str, object] = {
        "_id": "doc-1",
        "tenant_id": "acme",
        "title": "Terms",
        "status": "indexed",
        "metadata": {"region": "EU"},
        "source": {
            "kind": "upload",
            "blob_id": "b1",
            "filename": "t.pdf",
            "content_type": "application/pdf",
        },
        "chunk_count": 4,
        "version": 2,
        "task_id": "task-3",
        "indexed_task_id": "task-2",
        "pending_task_id": "task-3",
        "created_at": NOW.replace(tzinfo=None),  # MongoDB hands back naive UTC
    }
    base.update(fields)
    return DocumentRecord.from_doc({k: v for k, v in base.items() if k not in without})


def test_a_cursor_round_trips_and_garbage_is_refused() -> None:
    assert decode_cursor(encode_cursor(record())) == (NOW, "doc-1")
    for bad in ("", "not-base64!", "WzFd", "bnVsbA"):
        with pytest.raises(InvalidDocumentCursor):
            decode_cursor(bad)


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("region=EU", True),
        ("a:b=x=y", True),
        ("k=", True),
        ("=v", False),
        ("noequals", False),
        ("bad key=v", False),
        ("k=\x07", False),
    ],
)
def test_the_metadata_filter_is_key_equals_value(text: str, ok: bool) -> None:
    assert (re.fullmatch(METADATA_FILTER_PATTERN, text) is not None) is ok


def test_the_read_model_names_the_task_that_made_the_live_version() -> None:
    out = DocumentOut.of(record())
    assert out.task_id == "task-2" and out.reindex_task_id == "task-3"
    assert out.version == 2 and out.chunk_count == 4 and out.created_at == NOW
    assert out.source is not None and out.source.filename == "t.pdf"
    assert "blob_id" not in out.model_dump()["source"]  # storage ids stay inside


def test_a_document_from_before_versions_reads_as_version_one() -> None:
    legacy = record(without=("version", "indexed_task_id", "pending_task_id", "source"))
    out = DocumentOut.of(legacy)
    assert out.version == 1 and out.task_id == "task-3"
    assert out.source is None and out.reindex_task_id is None
    assert DocumentOut.of(record(status="ingesting", without=("version",))).version == 0


def test_one_deleted_event_id_per_document() -> None:
    assert deleted_message_id("doc-1") == "doc-1.deleted"

import json
from pathlib import Path
from typing import ClassVar

import jsonschema
import pytest

from tradebus_contracts import (
    REGISTRY,
    Contract,
    IngestDocument,
    MessageKind,
    MessageRegistry,
    UnknownMessageType,
)
from tradebus_contracts.generate import asyncapi, expected_files, stale_files

CONTRACTS = Path(__file__).resolve().parents[3] / "contracts"

EXAMPLES = {
    "omnirag.kb.check.v1": {"slot": "2026-12-02T02:30:00Z", "tenant_id": None, "repair": True},
    "omnirag.kb.checked.v1": {
        "tenant_id": "a",
        "slot": "2026-12-02T02:30:00Z",
        "checked_at": "2026-12-02T02:31:10Z",
        "repair": True,
        "documents_checked": 12,
        "stuck_documents": 1,
        "stuck_failed": 0,
        "chunks_without_vectors": 27,
        "batches_reenqueued": 7,
        "vectors_without_chunks": 1,
        "vectors_removed": 1,
        "orphan_chunks": 0,
        "orphan_chunks_removed": 0,
        "orphan_blobs": 2,
        "orphan_blobs_removed": 2,
    },
    "notifier.sweeps.run.v1": {"slot": "2026-12-02T17:15:00Z"},
    "omnirag.document.ingest.v1": {
        "task_id": "t",
        "tenant_id": "a",
        "document_id": "d",
        "title": "Invoice",
        "source": {"kind": "text", "text": "hi"},
    },
    "omnirag.chunks.embed.v1": {
        "task_id": "t",
        "tenant_id": "a",
        "document_id": "d",
        "batch_index": 0,
        "batch_count": 1,
        "chunk_ids": ["c1"],
    },
    "omnirag.document.indexed.v1": {
        "tenant_id": "a",
        "document_id": "d",
        "task_id": "t",
        "title": "x",
        "chunk_count": 3,
        "indexed_at": "2026-01-01T00:00:00Z",
    },
    "dealbrain.recall.evaluate.v1": {"slot": "2026-12-02T03:00:00Z", "sample_size": 50, "k": 5},
    "dealbrain.recall.evaluated.v1": {
        "tenant_id": "a",
        "slot": "2026-12-02T03:00:00Z",
        "at": "2026-12-02T03:00:41Z",
        "k": 5,
        "recall_at_k": 0.92,
        "mrr": 0.81,
        "samples": 50,
        "method": "offline",
        "embedder": "hashing-384",
    },
    "omnirag.document.deleted.v1": {
        "tenant_id": "a",
        "document_id": "d",
        "deleted_at": "2026-01-01T00:00:00Z",
        "chunk_count": 3,
    },
    "task.status.changed.v1": {
        "task_id": "t",
        "tenant_id": "a",
        "task_kind": "rag.ingest",
        "status": "running",
        "occurred_at": "2026-01-01T00:00:00Z",
    },
    "tradebus.message.faulted.v1": {
        "message_id": "m",
        "queue": "q",
        "service": "s",
        "host": "h",
        "exception_type": "E",
        "exception_message": "boom",
        "attempts": 3,
        "original_exchange": "x",
        "original_routing_key": "k",
        "first_failure_at": "2026-01-01T00:00:00Z",
        "last_failure_at": "2026-01-01T00:00:01Z",
        "reason": "retries_exhausted",
    },
    "dealbrain.ask.v1": {"tenant_id": "a", "question": "Who pays duty under DAP?"},
    "dealbrain.ask-reply.v1": {"answer": "The buyer [1].", "degraded": ["llm:extractive"]},
    "tradebus.rpc.error.v1": {"code": "internal", "message": "boom"},
    "dealbrain.session.summarize.v1": {"tenant_id": "a", "session_id": "s", "through_turn": 7},
    "shadowhunter.hunt.v1": {"tenant_id": "a", "query": "steel coil importers", "limit": 5},
    "shadowhunter.hunt-reply.v1": {
        "leads": [
            {
                "name": "Hai Phong Steel",
                "url": "https://hps.example",
                "score": 0.8,
                "factors": {"relevance": 0.9, "corroboration": 0.5},
                "sources": [{"provider": "kb", "title": "HPS profile", "snippet": "coil"}],
            }
        ],
        "partial": True,
        "providers": {"kb": "ok", "web": "timeout"},
    },
    "shadowhunter.assess.v1": {"tenant_id": "a", "counterparty": "Hai Phong Steel JSC"},
    "shadowhunter.assess-reply.v1": {
        "counterparty": "Hai Phong Steel JSC",
        "score": 62.5,
        "band": "medium",
        "factors": [
            {
                "name": "identity",
                "weight": 0.3,
                "value": 1.0,
                "contribution": 30.0,
                "explanation": "named in 3 sources",
            }
        ],
        "evidence": [{"source": "knowledge_base", "provider": "kb", "title": "t", "snippet": "s"}],
        "degraded": ["llm:rationale_skipped"],
    },
    "notifier.webhook.deliver.v1": {"delivery_id": "msg_1", "subscription_id": "wh_1"},
    "notifier.webhook.disabled.v1": {
        "tenant_id": "a",
        "subscription_id": "wh_1",
        "url": "https://hooks.example/tradebus",
        "reason": "endpoint returned 410",
        "consecutive_failures": 1,
        "disabled_at": "2026-01-01T00:00:00Z",
    },
    "tradebus.webhook.test.v1": {
        "subscription_id": "wh_1",
        "requested_at": "2026-01-01T00:00:00Z",
    },
    "tradebus.alert.raised.v1": {
        "alert_id": "a1",
        "fingerprint": "f1",
        "rule": "recall_below",
        "rule_kind": "recall_below",
        "severity": "warning",
        "subject": "acme",
        "tenant_id": "acme",
        "value": 0.4,
        "threshold": 0.6,
        "summary": "recall@5 of acme is 0.40",
        "started_at": "2026-01-01T00:00:00Z",
        "raised_at": "2026-01-01T00:05:00Z",
    },
    "tradebus.alert.resolved.v1": {
        "alert_id": "a1",
        "fingerprint": "f1",
        "rule": "recall_below",
        "rule_kind": "recall_below",
        "severity": "warning",
        "subject": "acme",
        "tenant_id": "acme",
        "value": 0.4,
        "threshold": 0.6,
        "summary": "recall@5 of acme is 0.40",
        "started_at": "2026-01-01T00:00:00Z",
        "resolved_at": "2026-01-01T01:00:00Z",
    },
    "notifier.alert.notify.v1": {
        "channel": "ops-slack",
        "status": "firing",
        "alert_id": "a1",
        "fingerprint": "f1",
        "rule": "recall_below",
        "rule_kind": "recall_below",
        "severity": "warning",
        "subject": "acme",
        "tenant_id": "acme",
        "value": 0.4,
        "threshold": 0.6,
        "summary": "recall@5 of acme is 0.40",
        "started_at": "2026-01-01T00:00:00Z",
        "at": "2026-01-01T00:05:00Z",
    },
}


def test_every_registered_type_has_an_example() -> None:
    assert {m.message_type for m in REGISTRY} == set(EXAMPLES)


@pytest.mark.parametrize("message_type", sorted(EXAMPLES))
def test_models_round_trip_and_match_their_committed_schema(message_type: str) -> None:
    model = REGISTRY.model_for(message_type)
    parsed = model.model_validate(EXAMPLES[message_type])
    assert model.model_validate_json(parsed.model_dump_json()) == parsed
    schema = json.loads((CONTRACTS / "schemas" / f"{message_type}.json").read_text())
    jsonschema.validate(json.loads(parsed.model_dump_json()), schema)


def test_unknown_fields_are_ignored_for_additive_compatibility() -> None:
    data = EXAMPLES["omnirag.document.ingest.v1"] | {"added_in_a_later_release": 1}
    assert IngestDocument.model_validate(data).document_id == "d"


def test_unknown_type_is_a_clear_error() -> None:
    with pytest.raises(UnknownMessageType, match=r"nope\.nope\.v1"):
        REGISTRY.model_for("nope.nope.v1")


def test_registry_rejects_bad_names_and_conflicting_registrations() -> None:
    class Bad(Contract):
        message_type: ClassVar[str] = "Not A Type"
        kind: ClassVar[MessageKind] = MessageKind.EVENT

    class Twin(Contract):
        message_type: ClassVar[str] = IngestDocument.message_type
        kind: ClassVar[MessageKind] = MessageKind.COMMAND

    registry = MessageRegistry([IngestDocument])
    with pytest.raises(ValueError, match="invalid message_type"):
        registry.register(Bad)
    with pytest.raises(ValueError, match="already registered"):
        registry.register(Twin)
    registry.register(IngestDocument)  # same model again is fine
    assert len(registry) == 1


def test_committed_schemas_are_fresh() -> None:
    assert stale_files(CONTRACTS) == [], "run `make contracts` and commit the result"


def test_staleness_check_notices_a_changed_schema(tmp_path: Path) -> None:
    for path, text in expected_files(tmp_path).items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert stale_files(tmp_path) == []
    target = tmp_path / "schemas" / "dealbrain.ask.v1.json"
    target.write_text(target.read_text().replace("question", "query"))
    (tmp_path / "schemas" / "removed.type.v1.json").write_text("{}")
    assert {p.name for p in stale_files(tmp_path)} == {
        "dealbrain.ask.v1.json",
        "removed.type.v1.json",
    }


def test_asyncapi_document_references_resolve() -> None:
    doc = asyncapi()
    assert doc["asyncapi"] == "3.0.0"
    messages = doc["components"]["messages"]
    for channel in doc["channels"].values():
        for ref in channel["messages"].values():
            assert ref["$ref"].split("/")[-1] in messages
    for op in doc["operations"].values():
        assert op["channel"]["$ref"].split("/")[-1] in doc["channels"]
    names = {m["name"] for m in messages.values()}
    assert names == {m.message_type for m in REGISTRY}
    assert doc["operations"]["send_omnirag_document_ingest_v1"]["action"] == "send"
    assert doc["operations"]["receive_omnirag_document_ingest_v1"]["action"] == "receive"

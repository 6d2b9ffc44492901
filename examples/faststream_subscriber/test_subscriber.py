"""Unit tests of the subscriber with FastStream's in-memory broker: routing by pattern and
type, parsing into the contract models. Dead-lettering needs the real broker (the e2e
tier runs this subscriber against RabbitMQ for that)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from faststream.rabbit import TestRabbitBroker
from pydantic import ValidationError

from tradebus_contracts import (
    Contract,
    DocumentIndexed,
    Envelope,
    InvalidEnvelope,
    Progress,
    TaskStatus,
    TaskStatusChanged,
)

from .subscriber import Settings, build, events_exchange


class Recorded:
    def __init__(self) -> None:
        self.events: list[tuple[Envelope, Contract]] = []

    async def record(self, envelope: Envelope, event: Contract) -> None:
        self.events.append((envelope, event))


def _indexed() -> DocumentIndexed:
    return DocumentIndexed(
        tenant_id="acme",
        document_id="doc-1",
        task_id="task-1",
        title="Incoterms 2020",
        chunk_count=12,
        indexed_at=datetime.now(UTC),
    )


def _headers(message_type: str, **extra: str) -> dict[str, str]:
    envelope = Envelope(type=message_type, source="tradebus/omnirag-embed", tenant_id="acme")
    return {**envelope.to_headers(), **extra}


async def _publish(broker, payload: dict, message_type: str) -> None:
    await broker.publish(
        payload,
        exchange=events_exchange(),
        routing_key=message_type,
        headers=_headers(message_type),
    )


@pytest.fixture
def settings() -> Settings:
    # TestRabbitBroker matches the queue's own routing key only: bind everything here.
    return Settings(queue=f"test-{uuid.uuid4().hex[:8]}", patterns=["#"])


async def test_a_document_indexed_event_reaches_its_handler_as_the_contract_model(
    settings: Settings,
) -> None:
    sink = Recorded()
    _, broker = build(settings, sink)
    event = _indexed()
    async with TestRabbitBroker(broker) as test_broker:
        await _publish(test_broker, event.model_dump(mode="json"), event.message_type)
    ((envelope, received),) = sink.events
    assert received == event
    assert envelope.type == "omnirag.document.indexed.v1"
    assert envelope.tenant_id == "acme"


async def test_each_type_goes_to_its_own_handler(settings: Settings) -> None:
    sink = Recorded()
    _, broker = build(settings, sink)
    status = TaskStatusChanged(
        task_id="task-1",
        tenant_id="acme",
        task_kind="rag.ingest",
        status=TaskStatus.SUCCEEDED,
        progress=Progress(done=3, total=3),
        occurred_at=datetime.now(UTC),
    )
    async with TestRabbitBroker(broker) as test_broker:
        await _publish(test_broker, status.model_dump(mode="json"), status.message_type)
        await _publish(
            test_broker, _indexed().model_dump(mode="json"), "omnirag.document.indexed.v1"
        )
    assert [type(e) for _, e in sink.events] == [TaskStatusChanged, DocumentIndexed]
    assert sink.events[0][1] == status


async def test_fields_added_within_v1_are_ignored(settings: Settings) -> None:
    sink = Recorded()
    _, broker = build(settings, sink)
    payload = {**_indexed().model_dump(mode="json"), "language": "en"}
    async with TestRabbitBroker(broker) as test_broker:
        await _publish(test_broker, payload, "omnirag.document.indexed.v1")
    ((_, received),) = sink.events
    assert isinstance(received, DocumentIndexed)


async def test_other_types_the_pattern_matches_are_taken_without_action(
    settings: Settings,
) -> None:
    sink = Recorded()
    _, broker = build(settings, sink)
    async with TestRabbitBroker(broker) as test_broker:
        await _publish(test_broker, {"anything": 1}, "omnirag.document.archived.v1")
    assert sink.events == []


async def test_a_payload_that_breaks_the_contract_fails_the_handler(settings: Settings) -> None:
    # On the real broker this rejection dead-letters the message to the team's DLQ.
    sink = Recorded()
    _, broker = build(settings, sink)
    broken = {**_indexed().model_dump(mode="json"), "chunk_count": -1}
    async with TestRabbitBroker(broker) as test_broker:
        with pytest.raises(ValidationError):
            await _publish(test_broker, broken, "omnirag.document.indexed.v1")
    assert sink.events == []


async def test_a_message_without_the_cloudevents_envelope_fails(settings: Settings) -> None:
    sink = Recorded()
    _, broker = build(settings, sink)
    async with TestRabbitBroker(broker) as test_broker:
        with pytest.raises(InvalidEnvelope, match="missing required header"):
            await test_broker.publish(
                _indexed().model_dump(mode="json"),
                exchange=events_exchange(),
                routing_key="omnirag.document.indexed.v1",
                headers={"cloudEvents:type": "omnirag.document.indexed.v1"},
            )
    assert sink.events == []

"""A downstream team's subscriber to tradebus events, written with FastStream.

It owns everything it declares: a durable quorum queue bound to `tradebus.events` by
routing-key pattern, and its own dead-letter exchange and queue. Payloads are parsed
into the published pydantic models (`tradebus_contracts`, the only tradebus code it
imports); a message that does not parse is rejected and lands in the team's DLQ.

    SUBSCRIBER_AMQP_URL=amqp://guest:guest@127.0.0.1:5672/ python subscriber.py

Each event it handles is printed as one JSON line (stand-in for the team's own store).
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from faststream import AckPolicy, FastStream
from faststream.rabbit import (
    Channel,
    ExchangeType,
    QueueType,
    RabbitBroker,
    RabbitExchange,
    RabbitQueue,
)
from faststream.rabbit.annotations import RabbitMessage
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from tradebus_contracts import Contract, DocumentIndexed, Envelope, TaskStatusChanged

TYPE_HEADER = "cloudEvents:type"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SUBSCRIBER_")

    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    # Name everything after your team so it never collides with tradebus's own queues.
    queue: str = "analytics.tradebus-events"
    # AMQP topic patterns: `*` is exactly one word, `#` zero or more.
    patterns: list[str] = Field(default=["omnirag.document.#", "task.status.#"], min_length=1)
    # Redeliveries (the consumer died mid-message) before the broker dead-letters it.
    delivery_limit: int = 5
    prefetch: int = 32


class Sink(Protocol):
    """Where handled events go: your database, your cache, your search index."""

    async def record(self, envelope: Envelope, event: Contract) -> None: ...


class JsonLines:
    """Prints each handled event as one JSON line on stdout."""

    async def record(self, envelope: Envelope, event: Contract) -> None:
        line = {
            "id": envelope.id,
            "type": envelope.type,
            "source": envelope.source,
            "tenant_id": envelope.tenant_id,
            "data": event.model_dump(mode="json"),
        }
        sys.stdout.write(json.dumps(line) + "\n")
        sys.stdout.flush()


def events_exchange() -> RabbitExchange:
    # Declared by tradebus; `declare=False` binds to it without ever creating or changing it.
    return RabbitExchange("tradebus.events", type=ExchangeType.TOPIC, durable=True, declare=False)


def dead_letter_exchange(settings: Settings) -> RabbitExchange:
    return RabbitExchange(f"{settings.queue}.dlx", type=ExchangeType.DIRECT, durable=True)


def dead_letter_queue(settings: Settings) -> RabbitQueue:
    return RabbitQueue(
        f"{settings.queue}.dlq",
        durable=True,
        queue_type=QueueType.QUORUM,
        routing_key=settings.queue,
    )


def work_queue(settings: Settings) -> RabbitQueue:
    return RabbitQueue(
        settings.queue,
        durable=True,
        queue_type=QueueType.QUORUM,
        routing_key=settings.patterns[0],
        arguments={
            "x-dead-letter-exchange": f"{settings.queue}.dlx",
            "x-dead-letter-routing-key": settings.queue,
            "x-delivery-limit": settings.delivery_limit,
            # Quorum queues dead-letter at-least-once only when the queue refuses
            # publishes past its limit instead of dropping the oldest message.
            "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish",
        },
    )


def _of_type(model: type[Contract]) -> Callable[[Any], Awaitable[bool]]:
    async def matches(message: Any) -> bool:
        return bool(message.headers.get(TYPE_HEADER) == model.message_type)

    return matches


def build(settings: Settings, sink: Sink | None = None) -> tuple[FastStream, RabbitBroker]:
    """The composition root: nothing connects until the app (or a test broker) starts."""
    sink = sink or JsonLines()
    broker = RabbitBroker(
        settings.amqp_url, default_channel=Channel(prefetch_count=settings.prefetch)
    )
    exchange = events_exchange()
    # REJECT_ON_ERROR (explicit, it is the default): a payload that does not parse, or a
    # handler that raises, is rejected without requeue and the broker moves it to the DLQ.
    events = broker.subscriber(work_queue(settings), exchange, ack_policy=AckPolicy.REJECT_ON_ERROR)

    @events(filter=_of_type(DocumentIndexed))
    async def on_document_indexed(event: DocumentIndexed, message: RabbitMessage) -> None:
        await sink.record(Envelope.from_headers(message.headers), event)

    @events(filter=_of_type(TaskStatusChanged))
    async def on_task_status_changed(event: TaskStatusChanged, message: RabbitMessage) -> None:
        await sink.record(Envelope.from_headers(message.headers), event)

    @events
    async def on_other(message: RabbitMessage) -> None:
        # Another type your patterns match (a new event, a v2 next to the v1 you read):
        # new types are additive, so take it off the queue without acting on it.
        Envelope.from_headers(message.headers)  # still a tradebus message, or it is rejected

    async def declare_dead_letters_and_bindings() -> None:
        # Before the subscriber starts: the DLQ exists before anything can be rejected.
        await broker.connect()
        dlx = await broker.declare_exchange(dead_letter_exchange(settings))
        dlq = await broker.declare_queue(dead_letter_queue(settings))
        await dlq.bind(dlx, routing_key=settings.queue)
        queue = await broker.declare_queue(work_queue(settings))
        for pattern in settings.patterns[1:]:  # the first one is the subscriber's own
            await queue.bind("tradebus.events", routing_key=pattern)

    app = FastStream(broker, on_startup=[declare_dead_letters_and_bindings])
    return app, broker


def main() -> None:
    app, _ = build(Settings())
    asyncio.run(app.run())


if __name__ == "__main__":
    main()

"""Confirmed, mandatory, persistent publishing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aio_pika
import aiormq
from aio_pika.abc import AbstractChannel, AbstractConnection

from tradebus_contracts import CONTENT_TYPE, Contract, Envelope, MessageKind

from .errors import BrokerUnavailable, PublishNacked, UnroutableMessage
from .topology import COMMANDS, EVENTS


def exchange_for(kind: MessageKind) -> str:
    if kind is MessageKind.EVENT:
        return EVENTS
    if kind is MessageKind.COMMAND:
        return COMMANDS
    raise ValueError(f"{kind} messages are sent with the RPC client, not published")


def build_message(
    body: bytes,
    envelope: Envelope,
    *,
    headers: Mapping[str, Any] | None = None,
    expiration: float | None = None,
    reply_to: str | None = None,
    correlation_id: str | None = None,
    persistent: bool = True,
) -> aio_pika.Message:
    all_headers: dict[str, Any] = envelope.to_headers()
    if headers:
        all_headers.update(headers)
    return aio_pika.Message(
        body,
        headers=all_headers,
        content_type=CONTENT_TYPE,
        delivery_mode=(
            aio_pika.DeliveryMode.PERSISTENT if persistent else aio_pika.DeliveryMode.NOT_PERSISTENT
        ),
        message_id=envelope.id,
        type=envelope.type,
        timestamp=envelope.time,
        correlation_id=correlation_id or envelope.correlation_id,
        expiration=expiration,
        reply_to=reply_to,
    )


_UNAVAILABLE = (
    aiormq.exceptions.AMQPConnectionError,
    aiormq.exceptions.ChannelInvalidStateError,
    ConnectionError,
    TimeoutError,
)


class Publisher:
    """Owns one confirm-mode channel. Each publish returns only once the broker
    has taken responsibility for the message, and raises otherwise."""

    def __init__(self, *, timeout: float = 10.0) -> None:
        self._channel: AbstractChannel | None = None
        self._timeout = timeout

    async def open(self, connection: AbstractConnection) -> None:
        self._channel = await connection.channel(publisher_confirms=True, on_return_raises=True)

    def detach(self) -> None:
        self._channel = None

    @property
    def ready(self) -> bool:
        return self._channel is not None and not self._channel.is_closed

    async def publish_raw(self, exchange: str, routing_key: str, message: aio_pika.Message) -> None:
        channel = self._channel
        if channel is None or channel.is_closed:
            raise BrokerUnavailable("not connected to RabbitMQ")
        try:
            ex = await channel.get_exchange(exchange, ensure=False) if exchange else None
            target = ex if ex is not None else channel.default_exchange
            confirmation = await target.publish(
                message, routing_key=routing_key, mandatory=True, timeout=self._timeout
            )
        except aiormq.exceptions.PublishError as exc:
            raise UnroutableMessage(
                f"no queue bound on {exchange or '(default)'} for {routing_key!r}"
            ) from exc
        except _UNAVAILABLE as exc:
            raise BrokerUnavailable(f"publish to {exchange} failed: {exc!r}") from exc
        if isinstance(confirmation, aiormq.spec.Basic.Nack):
            raise PublishNacked(f"broker nacked publish to {exchange} {routing_key!r}")

    async def publish(
        self,
        payload: Contract,
        envelope: Envelope,
        *,
        exchange: str | None = None,
        routing_key: str | None = None,
        headers: Mapping[str, Any] | None = None,
    ) -> None:
        message = build_message(payload.model_dump_json().encode(), envelope, headers=headers)
        await self.publish_raw(
            exchange if exchange is not None else exchange_for(payload.kind),
            routing_key or payload.message_type,
            message,
        )

"""Webhook delivery: the notifier's own work and the facts it announces."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import Field

from ._base import Contract, MessageKind


class DeliverWebhook(Contract):
    """Deliver one event to one webhook subscription (one attempt of it).

    One job per (event, subscription), so one receiver's retries never hold another's.
    The event itself waits in the delivery log (`delivery_id`); the job is a reference."""

    message_type: ClassVar[str] = "notifier.webhook.deliver.v1"
    kind: ClassVar[MessageKind] = MessageKind.COMMAND

    delivery_id: str = Field(
        ..., max_length=64, description="The delivery; also the `webhook-id` header."
    )
    subscription_id: str = Field(..., max_length=64)
    attempt: int = Field(1, ge=1, description="Which attempt of this delivery the job is.")
    generation: int = Field(
        0, ge=0, description="Bumped by every replay; a job of an older generation is stale."
    )


class WebhookDisabled(Contract):
    """A webhook subscription was disabled by the notifier (410 Gone, or failing too long)."""

    message_type: ClassVar[str] = "notifier.webhook.disabled.v1"
    kind: ClassVar[MessageKind] = MessageKind.EVENT

    tenant_id: str
    subscription_id: str
    url: str
    reason: str = Field(..., description="Why, for a person.", examples=["endpoint returned 410"])
    consecutive_failures: int = Field(0, ge=0)
    disabled_at: datetime


class WebhookTest(Contract):
    """A test event for one webhook subscription, asked for through the gateway. It goes
    through the normal delivery path but only to `subscription_id`."""

    message_type: ClassVar[str] = "tradebus.webhook.test.v1"
    kind: ClassVar[MessageKind] = MessageKind.EVENT

    subscription_id: str = Field(..., max_length=64)
    message: str = Field("This is a test event from tradebus.", max_length=500)
    requested_at: datetime

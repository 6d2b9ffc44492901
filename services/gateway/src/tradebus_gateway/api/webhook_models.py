"""Bodies of the webhook API: a schema family per entity (create, update, read, page)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StringConstraints

from tradebus_storage import Delivery, DeliveryState, WebhookSubscription

from .models import URL_PATTERN, _http_url

# The documents' URL pattern with any TCP port (receivers often listen above 9999).
_PORT = r"(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}|0)"
WEBHOOK_URL_PATTERN = URL_PATTERN.replace(r"(:[0-9]{1,4})?", rf"(:{_PORT})?")
assert WEBHOOK_URL_PATTERN != URL_PATTERN

# Event types with AMQP topic semantics: dot-separated words, `*` one word, `#` any
# number of words. E.g. `omnirag.document.indexed.v1`, `task.#`, `omnirag.*.*.v1`, `#`.
_WORD = r"(\*|#|[a-z0-9][a-z0-9_-]{0,63})"
EVENT_PATTERN = rf"^{_WORD}(\.{_WORD}){{0,9}}$"
MAX_EVENT_TYPES = 50

EventPattern = Annotated[str, StringConstraints(pattern=EVENT_PATTERN, max_length=300)]
EventTypes = Annotated[
    list[EventPattern],
    Field(
        min_length=1,
        max_length=MAX_EVENT_TYPES,
        description="Event types to receive; `*` matches one dot-separated word, `#` any "
        "number (e.g. `task.#`, `omnirag.document.*.v1`, `#` for all).",
        examples=[["omnirag.document.indexed.v1", "task.status.changed.v1"]],
    ),
]
WebhookUrl = Annotated[
    str,
    StringConstraints(pattern=WEBHOOK_URL_PATTERN, max_length=2048),
    AfterValidator(_http_url),
    Field(
        description="Where events are POSTed (http or https). Private, loopback and "
        "link-local addresses are refused at delivery unless allowlisted by the operator.",
        examples=["https://hooks.example.com/tradebus"],
    ),
]
Description = Annotated[str, Field(max_length=500, examples=["ERP sync"])]


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: WebhookUrl
    event_types: EventTypes
    description: Description | None = None


class WebhookUpdate(BaseModel):
    """Only the fields given change (null: unchanged, except `description`, which null
    clears). `enabled: true` re-enables a disabled subscription with a clean record."""

    model_config = ConfigDict(extra="forbid")

    url: WebhookUrl | None = None
    event_types: EventTypes | None = None
    enabled: StrictBool | None = None  # `0` is not `false`, as the schema says
    description: Description | None = None


class WebhookOut(BaseModel):
    id: str = Field(..., examples=["wh_0193a1b2c3d4e5f60718293a4b5c6d7e"])
    url: str
    event_types: list[str]
    description: str | None = None
    enabled: bool
    disabled_reason: str | None = Field(
        None, description="Why the notifier disabled it (410 Gone, failing too long)."
    )
    disabled_at: datetime | None = None
    consecutive_failures: int = Field(0, description="Failed attempts in a row.")
    failing_since: datetime | None = None
    last_success_at: datetime | None = None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, sub: WebhookSubscription) -> WebhookOut:
        return cls.model_validate(sub.model_dump(exclude={"secrets", "tenant_id"}))


class WebhookCreated(WebhookOut):
    secret: str = Field(
        ...,
        description="The signing secret (Standard Webhooks `whsec_...`). Shown only now.",
        examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
    )


class WebhookSecret(BaseModel):
    id: str
    secret: str = Field(..., description="The new signing secret. Shown only now.")
    previous_secret_expires_at: datetime | None = Field(
        None, description="Until then the previous secret signs alongside the new one."
    )


class WebhookPage(BaseModel):
    items: list[WebhookOut]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page.")


class DeliveryOut(BaseModel):
    id: str = Field(..., description="The `webhook-id` header of every attempt.")
    event_id: str
    event_type: str
    state: DeliveryState
    attempt: int = Field(..., description="Attempts made so far (of this replay).")
    response_status: int | None = None
    latency_ms: int | None = None
    error: str | None = None
    next_attempt_at: datetime | None = None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, d: Delivery) -> DeliveryOut:
        return cls(
            id=d.id,
            event_id=d.event_id,
            event_type=d.event_type,
            state=d.state,
            attempt=d.attempts,
            response_status=d.response_status,
            latency_ms=d.latency_ms,
            error=d.error,
            next_attempt_at=d.next_attempt_at,
            created_at=d.created_at,
            updated_at=d.updated_at,
        )


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page.")


class TestAccepted(BaseModel):
    __test__ = False  # not a pytest class

    event_id: str = Field(..., description="Id of the test event; its delivery appears soon.")
    delivery_id: str = Field(..., description="The delivery to watch (`webhook-id`).")

"""Webhook subscriptions (`webhook_subscriptions`), every read and write scoped by tenant.

A signing secret is shown to its tenant once, when created or rotated, and never read
back through the API; it is stored as is because the notifier needs it for the HMAC.
After a rotation the previous secret keeps signing until its `expires_at`."""

from __future__ import annotations

import base64
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32  # Standard Webhooks: 24 to 64 random bytes


def new_signing_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def new_subscription_id() -> str:
    return "wh_" + uuid.uuid4().hex


class SigningSecret(BaseModel):
    value: str
    created_at: datetime
    expires_at: datetime | None = None  # None: the current secret


class WebhookSubscription(BaseModel):
    id: str
    tenant_id: str
    url: str
    event_types: list[str]
    description: str | None = None
    enabled: bool = True
    disabled_reason: str | None = None
    disabled_at: datetime | None = None
    disabled_announced: bool = True
    consecutive_failures: int = 0
    failing_since: datetime | None = None
    last_success_at: datetime | None = None
    secrets: list[SigningSecret] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> WebhookSubscription:
        return cls.model_validate({**doc, "id": doc["_id"]})

    def signing_secrets(self, now: datetime) -> list[str]:
        """The secrets that sign now: the current one first, then any still overlapping."""
        return [s.value for s in self.secrets if s.expires_at is None or _aware(s.expires_at) > now]


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class WebhookRepository:
    def __init__(self, db: AsyncDatabase[Any]) -> None:
        self._c = db["webhook_subscriptions"]

    async def ensure_indexes(self) -> None:
        await self._c.create_index([("tenant_id", ASCENDING), ("_id", DESCENDING)])
        await self._c.create_index([("tenant_id", ASCENDING), ("enabled", ASCENDING)])

    async def create(
        self, tenant_id: str, *, url: str, event_types: list[str], description: str | None
    ) -> tuple[WebhookSubscription, str]:
        now = datetime.now(UTC)
        secret = new_signing_secret()
        doc = {
            "_id": new_subscription_id(),
            "tenant_id": tenant_id,
            "url": url,
            "event_types": event_types,
            "description": description,
            "enabled": True,
            "consecutive_failures": 0,
            "secrets": [{"value": secret, "created_at": now, "expires_at": None}],
            "created_at": now,
            "updated_at": now,
        }
        await self._c.insert_one(doc)
        return WebhookSubscription.from_doc(doc), secret

    async def get(self, tenant_id: str, subscription_id: str) -> WebhookSubscription | None:
        doc = await self._c.find_one({"_id": subscription_id, "tenant_id": tenant_id})
        return WebhookSubscription.from_doc(doc) if doc else None

    async def page(
        self, tenant_id: str, *, cursor: str | None = None, limit: int = 50
    ) -> tuple[list[WebhookSubscription], str | None]:
        query: dict[str, Any] = {"tenant_id": tenant_id}
        if cursor is not None:
            query["_id"] = {"$lt": cursor}
        docs = await self._c.find(query).sort("_id", DESCENDING).limit(limit + 1).to_list()
        subs = [WebhookSubscription.from_doc(d) for d in docs[:limit]]
        return subs, (subs[-1].id if len(docs) > limit else None)

    async def count(self, tenant_id: str) -> int:
        return await self._c.count_documents({"tenant_id": tenant_id})

    async def enabled_for(self, tenant_id: str) -> list[WebhookSubscription]:
        docs = await self._c.find({"tenant_id": tenant_id, "enabled": True}).to_list()
        return [WebhookSubscription.from_doc(d) for d in docs]

    async def update(
        self, tenant_id: str, subscription_id: str, **fields: Any
    ) -> WebhookSubscription | None:
        """Set url, event_types, description or enabled. Re-enabling clears the reason
        and the failure count, so the subscription starts with a clean record."""
        values: dict[str, Any] = {"updated_at": datetime.now(UTC), **fields}
        if fields.get("enabled") is True:
            values.update(
                disabled_reason=None,
                disabled_at=None,
                consecutive_failures=0,
                failing_since=None,
                disabled_announced=True,
            )
        doc = await self._c.find_one_and_update(
            {"_id": subscription_id, "tenant_id": tenant_id},
            {"$set": values},
            return_document=ReturnDocument.AFTER,
        )
        return WebhookSubscription.from_doc(doc) if doc else None

    async def delete(self, tenant_id: str, subscription_id: str) -> bool:
        result = await self._c.delete_one({"_id": subscription_id, "tenant_id": tenant_id})
        return result.deleted_count == 1

    async def rotate_secret(
        self, tenant_id: str, subscription_id: str, *, overlap: timedelta
    ) -> tuple[WebhookSubscription, str] | None:
        """A new current secret; the previous one signs alongside for `overlap`, and any
        older ones whose overlap has passed are dropped."""
        current = await self.get(tenant_id, subscription_id)
        if current is None:
            return None
        now = datetime.now(UTC)
        secret = new_signing_secret()
        kept = [
            {
                "value": s.value,
                "created_at": s.created_at,
                "expires_at": s.expires_at or now + overlap,
            }
            for s in current.secrets
            if s.expires_at is None or _aware(s.expires_at) > now
        ]
        doc = await self._c.find_one_and_update(
            {"_id": subscription_id, "tenant_id": tenant_id},
            {
                "$set": {
                    "secrets": [{"value": secret, "created_at": now, "expires_at": None}, *kept],
                    "updated_at": now,
                }
            },
            return_document=ReturnDocument.AFTER,
        )
        return (WebhookSubscription.from_doc(doc), secret) if doc else None

    # -- the notifier's bookkeeping (by id: the job names its subscription) ------

    async def by_id(self, subscription_id: str) -> WebhookSubscription | None:
        doc = await self._c.find_one({"_id": subscription_id})
        return WebhookSubscription.from_doc(doc) if doc else None

    async def record_success(self, subscription_id: str) -> None:
        now = datetime.now(UTC)
        await self._c.update_one(
            {"_id": subscription_id},
            {"$set": {"consecutive_failures": 0, "failing_since": None, "last_success_at": now}},
        )

    async def record_failure(self, subscription_id: str) -> WebhookSubscription | None:
        """One more failed attempt in a row; `failing_since` marks the first of them."""
        now = datetime.now(UTC)
        await self._c.update_one(
            {"_id": subscription_id, "failing_since": None}, {"$set": {"failing_since": now}}
        )
        doc = await self._c.find_one_and_update(
            {"_id": subscription_id},
            {"$inc": {"consecutive_failures": 1}},
            return_document=ReturnDocument.AFTER,
        )
        return WebhookSubscription.from_doc(doc) if doc else None

    async def disable(self, subscription_id: str, reason: str) -> WebhookSubscription | None:
        """Compare-and-set enabled → disabled; None when it was not enabled (another
        replica, or the tenant, got there first). `disabled_announced` stays false until
        the event is published."""
        now = datetime.now(UTC)
        doc = await self._c.find_one_and_update(
            {"_id": subscription_id, "enabled": True},
            {
                "$set": {
                    "enabled": False,
                    "disabled_reason": reason,
                    "disabled_at": now,
                    "disabled_announced": False,
                    "updated_at": now,
                }
            },
            return_document=ReturnDocument.AFTER,
        )
        return WebhookSubscription.from_doc(doc) if doc else None

    async def mark_announced(self, subscription_id: str) -> None:
        await self._c.update_one({"_id": subscription_id}, {"$set": {"disabled_announced": True}})

"""Sweeps for what no TTL index can expire. TTL indexes already cover tasks (results,
`expires_at`), the inbox, webhook deliveries, schedule runs and knowledge-base check
reports; a TTL index removes whole documents only, so what lives inside a document that
stays needs a sweep:

- a webhook subscription's previous signing secrets past their overlap: dead
  credentials, no longer used to sign, kept at rest only until the next rotation.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase


async def prune_expired_secrets(db: AsyncDatabase[Any], *, now: datetime) -> int:
    """Remove signing secrets whose overlap has ended; returns the subscriptions changed.
    The current secret (`expires_at` null) never matches."""
    result = await db["webhook_subscriptions"].update_many(
        {"secrets.expires_at": {"$lte": now}},
        {"$pull": {"secrets": {"expires_at": {"$lte": now}}}},
    )
    return int(result.modified_count)

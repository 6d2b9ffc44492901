"""Console sessions: a random id in an HttpOnly cookie, the operator key server-side.

The cookie carries only the session id; MongoDB holds the session under the id's digest
(a leaked database dump opens no session), with the key the console calls the API with
and the session's CSRF token. A TTL index ends sessions; reads check the expiry too."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

COLLECTION = "console_sessions"


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Session:
    session_id: str
    api_key: str
    key_id: str
    label: str
    csrf_token: str
    expires_at: datetime

    def csrf_ok(self, presented: str | None) -> bool:
        """Constant-time comparison: the token is a secret."""
        return presented is not None and hmac.compare_digest(
            presented.encode(), self.csrf_token.encode()
        )


class SessionStore:
    def __init__(
        self,
        db: AsyncDatabase[Any],
        *,
        lifetime: timedelta,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._sessions = db[COLLECTION]
        self._lifetime = lifetime
        self._now = clock or (lambda: datetime.now(UTC))
        self._indexed = False

    async def ensure_indexes(self) -> None:
        if not self._indexed:
            # expireAfterSeconds=0: each document expires at its own `expires_at`.
            await self._sessions.create_index("expires_at", expireAfterSeconds=0)
            self._indexed = True

    async def create(self, api_key: str, *, key_id: str, label: str) -> Session:
        await self.ensure_indexes()
        session = Session(
            session_id=secrets.token_urlsafe(32),
            api_key=api_key,
            key_id=key_id,
            label=label,
            csrf_token=secrets.token_urlsafe(32),
            expires_at=self._now() + self._lifetime,
        )
        await self._sessions.insert_one(
            {
                "_id": _digest(session.session_id),
                "api_key": api_key,
                "key_id": key_id,
                "label": label,
                "csrf_token": session.csrf_token,
                "created_at": self._now(),
                "expires_at": session.expires_at,
            }
        )
        return session

    async def get(self, session_id: str | None) -> Session | None:
        if not session_id:
            return None
        doc = await self._sessions.find_one({"_id": _digest(session_id)})
        if doc is None:
            return None
        expires_at = doc["expires_at"]
        if expires_at.tzinfo is None:  # BSON datetimes come back naive (UTC)
            expires_at = expires_at.replace(tzinfo=UTC)
        if expires_at <= self._now():
            await self.delete(session_id)
            return None
        return Session(
            session_id=session_id,
            api_key=doc["api_key"],
            key_id=doc["key_id"],
            label=doc.get("label", ""),
            csrf_token=doc["csrf_token"],
            expires_at=expires_at,
        )

    async def delete(self, session_id: str) -> None:
        await self._sessions.delete_one({"_id": _digest(session_id)})

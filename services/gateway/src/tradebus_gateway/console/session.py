"""Console sessions: a random id in an HttpOnly cookie, the operator key server-side.

The cookie carries only the session id; MongoDB holds the session under the id's digest
(a leaked database dump opens no session), with the key the console calls the API with
and the session's CSRF token. A session ends at its lifetime (a TTL index; reads check
the expiry too) or once it has been idle too long: an operator's requests keep it alive,
the live parts' polling does not (a console left open on a screen is idle)."""

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
        idle: timedelta | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._sessions = db[COLLECTION]
        self._lifetime = lifetime
        self._idle = idle or lifetime
        # Activity is written at most this often: not a database write per click.
        self._touch_every = min(timedelta(minutes=1), self._idle / 10)
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
                "active_at": self._now(),
                "expires_at": session.expires_at,
            }
        )
        return session

    async def get(self, session_id: str | None, *, activity: bool = True) -> Session | None:
        """The session, or None when there is none or it has ended. `activity`: the
        request is the operator's (not a poll), so the session's idle time starts anew."""
        if not session_id:
            return None
        doc = await self._sessions.find_one({"_id": _digest(session_id)})
        if doc is None:
            return None
        now = self._now()
        expires_at = _utc(doc["expires_at"])
        active_at = _utc(doc.get("active_at") or doc.get("created_at") or now)
        if expires_at <= now or active_at + self._idle <= now:
            await self.delete(session_id)
            return None
        if activity and now - active_at >= self._touch_every:
            await self._sessions.update_one(
                {"_id": _digest(session_id)}, {"$set": {"active_at": now}}
            )
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


def _utc(value: datetime) -> datetime:
    # BSON datetimes come back naive (UTC).
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)

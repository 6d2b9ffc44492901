"""Failed console logins, counted per client address and per presented key, so guessing
keys (or retrying a revoked one) from a browser is slow. Kept in MongoDB
(`console_login_failures`), so every replica counts the same failures; a window starts
at a subject's first failure and a TTL index removes it (reads check the end too).

The client address is the ASGI client: behind a proxy, run uvicorn with
`--proxy-headers --forwarded-allow-ips=<the proxy>` so it is the caller's, not the
proxy's. Successful logins count nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

COLLECTION = "console_login_failures"


@dataclass(frozen=True, slots=True)
class Subjects:
    """Who a login attempt counts against."""

    client: str  # the caller's address
    key_id: str  # the presented key's digest prefix (the audit's name for a key)

    def ids(self) -> tuple[str, str]:
        return (f"client:{self.client}", f"key:{self.key_id}")


class LoginThrottle:
    def __init__(
        self,
        db: AsyncDatabase[Any],
        *,
        max_failures: int,
        window: timedelta,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._c = db[COLLECTION]
        self._max, self._window = max_failures, window
        self._now = clock or (lambda: datetime.now(UTC))
        self._indexed = False

    async def wait_seconds(self, subjects: Subjects) -> float:
        """0 when the attempt may go ahead; else seconds until it may."""
        now, wait = self._now(), 0.0
        for subject in subjects.ids():
            doc = await self._live(subject, now)
            if doc is not None and doc["failures"] >= self._max:
                wait = max(wait, (_aware(doc["expires_at"]) - now).total_seconds())
        return wait

    async def failed(self, subjects: Subjects) -> bool:
        """Count a failure; True when it is the one that closed a subject's window."""
        if not self._indexed:
            await self._c.create_index("expires_at", expireAfterSeconds=0)
            self._indexed = True
        now, closed = self._now(), False
        for subject in subjects.ids():
            await self._live(subject, now)  # an ended window is deleted: this starts anew
            await self._c.update_one(
                {"_id": subject},
                {"$inc": {"failures": 1}, "$setOnInsert": {"expires_at": now + self._window}},
                upsert=True,
            )
            doc = await self._c.find_one({"_id": subject})
            closed = closed or (doc is not None and doc["failures"] == self._max)
        return closed

    async def _live(self, subject: str, now: datetime) -> dict[str, Any] | None:
        doc = await self._c.find_one({"_id": subject})
        if doc is not None and _aware(doc["expires_at"]) <= now:
            await self._c.delete_one({"_id": subject})
            return None
        return doc


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)

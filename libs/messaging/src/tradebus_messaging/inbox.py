"""The idempotency inbox the consumer talks to.

A handler's writes and the inbox record commit in one MongoDB transaction
(`ctx.session`), so a redelivered message finds its id recorded and its effects
happen once. Implementations live in tradebus_storage; this is only the port.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol


class Inbox(Protocol):
    async def seen(self, consumer: str, message_id: str) -> bool: ...

    def transaction(self) -> AbstractAsyncContextManager[Any]: ...

    async def record(self, consumer: str, message_id: str, session: Any = None) -> None: ...


def is_duplicate(exc: BaseException) -> bool:
    """True for the inbox's 'already recorded' failure, whatever store raised it."""
    if getattr(exc, "duplicate", False) or type(exc).__name__ == "AlreadyProcessed":
        return True
    return getattr(exc, "code", None) == 11000  # MongoDB duplicate key

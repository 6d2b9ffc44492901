"""Pure decision for a failed handler: retry after how long, or park and why.

Two budgets. Handler failures spend attempts (`max_attempts`, exponential backoff
with full jitter). Outages of our own infrastructure (MongoDB or the broker
unreachable) spend time instead: the message is retried, with attempts untouched,
until `outage_budget_seconds` after its first failure, so a database restart of
a few minutes parks nothing.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime

from .errors import BrokerUnavailable, HandlerTimeout, OutageError, PermanentError
from .failures import FaultReason

# Matched by name so the runtime needs no database driver: the connection-level
# failures of pymongo (and its subclasses: server selection, network timeouts,
# a primary stepping down).
_OUTAGE_NAMES = frozenset(
    {
        "pymongo.errors.ConnectionFailure",
        "pymongo.errors.AutoReconnect",
        "pymongo.errors.NotPrimaryError",
        "pymongo.errors.WaitQueueTimeoutError",
    }
)


def is_outage(exc: BaseException) -> bool:
    if isinstance(exc, OutageError | BrokerUnavailable | ConnectionError):
        return True
    return any(f"{c.__module__}.{c.__qualname__}" in _OUTAGE_NAMES for c in type(exc).__mro__)


@dataclass(frozen=True, slots=True)
class Retry:
    delay_seconds: int
    next_attempt: int
    outage_retries: int


@dataclass(frozen=True, slots=True)
class Park:
    reason: FaultReason


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int
    base_seconds: float
    cap_seconds: float
    outage_budget_seconds: float = 900.0
    outage_cap_seconds: float = 30.0

    def backoff(self, attempt: int, rng: random.Random | None = None) -> int:
        """Exponential backoff with full jitter, in whole seconds (the delay
        network's resolution), never below one second."""
        ceiling = min(self.cap_seconds, self.base_seconds * (2 ** (attempt - 1)))
        value = (rng or random).uniform(0, ceiling)
        return max(1, round(value))

    def exhausted(self, attempt: int) -> bool:
        return attempt >= self.max_attempts

    def decide(
        self,
        exc: BaseException,
        *,
        attempt: int,
        outage_retries: int,
        first_failure: datetime | None,
        now: datetime,
        rng: random.Random | None = None,
    ) -> Retry | Park:
        if isinstance(exc, PermanentError):
            return Park(FaultReason.PERMANENT)
        if is_outage(exc):
            elapsed = 0.0 if first_failure is None else (now - first_failure).total_seconds()
            if elapsed < self.outage_budget_seconds:
                n = outage_retries + 1
                # Half fixed, half jitter: a restarted database is not hit by every
                # parked-up message in the same second, and none waits past the cap.
                ceiling = min(self.outage_cap_seconds, self.base_seconds * 2 ** (n - 1))
                delay = max(1, round(ceiling / 2 + (rng or random).uniform(0, ceiling / 2)))
                return Retry(delay, attempt, n)
        if self.exhausted(attempt):
            reason = FaultReason.TIMEOUT if isinstance(exc, HandlerTimeout) else None
            return Park(reason or FaultReason.RETRIES_EXHAUSTED)
        return Retry(self.backoff(attempt, rng), attempt + 1, outage_retries)

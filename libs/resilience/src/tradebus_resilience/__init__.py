"""Resilience budgets for calls that leave the process: per downstream a concurrency
limit, timeouts, retries with backoff and full jitter for idempotent calls, and a
circuit breaker. Callers catch `DownstreamError` and degrade by name."""

from .breaker import CircuitBreaker, State
from .downstream import Downstream, is_transient, parse_retry_after
from .errors import (
    CircuitOpen,
    DownstreamBusy,
    DownstreamError,
    DownstreamHTTPError,
    DownstreamTimeout,
    DownstreamUnavailable,
)
from .settings import DownstreamSettings
from .shared_limits import Admission, RateLimitItem, SharedLimits, Slot, rate_item

__all__ = [
    "Admission",
    "CircuitBreaker",
    "CircuitOpen",
    "Downstream",
    "DownstreamBusy",
    "DownstreamError",
    "DownstreamHTTPError",
    "DownstreamSettings",
    "DownstreamTimeout",
    "DownstreamUnavailable",
    "RateLimitItem",
    "SharedLimits",
    "Slot",
    "State",
    "is_transient",
    "parse_retry_after",
    "rate_item",
]

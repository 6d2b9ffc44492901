"""Pure decisions about failed messages: retry or park, when, and with which headers."""

from __future__ import annotations

import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

H_ATTEMPT = "x-tradebus-attempt"
H_FIRST_FAILURE = "x-tradebus-first-failure-at"
H_LAST_FAILURE = "x-tradebus-last-failure-at"
H_ORIGINAL_EXCHANGE = "x-tradebus-original-exchange"
H_ORIGINAL_ROUTING_KEY = "x-tradebus-original-routing-key"
H_ORIGINAL_QUEUE = "x-tradebus-original-queue"
H_EXCEPTION_TYPE = "x-tradebus-exception-type"
H_EXCEPTION_MESSAGE = "x-tradebus-exception-message"
H_STACKTRACE = "x-tradebus-stacktrace"
H_FAILED_SERVICE = "x-tradebus-failed-service"
H_FAILED_HOST = "x-tradebus-failed-host"
H_FAULT_REASON = "x-tradebus-fault-reason"
H_DEADLINE = "x-tradebus-deadline"
H_REPLAYED = "x-tradebus-replayed"
H_OUTAGE_RETRIES = "x-tradebus-outage-retries"
H_BODY_BYTES = "x-tradebus-body-bytes"
H_BODY_TRUNCATED = "x-tradebus-body-truncated"

# Broker bookkeeping that must not follow a message we republish ourselves.
_BROKER_HEADERS = (
    "x-death",
    "x-delivery-count",
    "x-first-death-exchange",
    "x-first-death-queue",
    "x-first-death-reason",
    "x-last-death-exchange",
    "x-last-death-queue",
    "x-last-death-reason",
)

MAX_TEXT = 2000


class FaultReason(StrEnum):
    PERMANENT = "permanent"
    RETRIES_EXHAUSTED = "retries_exhausted"
    MALFORMED = "malformed"
    TOO_LARGE = "too_large"
    UNKNOWN_TYPE = "unknown_type"
    DELIVERY_LIMIT = "delivery_limit"
    TIMEOUT = "timeout"


@dataclass(frozen=True, slots=True)
class Fault:
    """Why a message goes to the parking lot; the faulted event is built from this."""

    reason: FaultReason
    exc_type: str
    message: str
    stacktrace: str | None = None

    @classmethod
    def of(cls, reason: FaultReason, exc: BaseException) -> Fault:
        trace = "".join(traceback.format_exception(exc))
        return cls(reason, exception_type_name(exc), str(exc), trace)


def attempt_of(headers: Mapping[str, Any] | None) -> int:
    if not headers:
        return 1
    try:
        return max(1, int(headers.get(H_ATTEMPT, 1)))
    except (TypeError, ValueError):
        return 1


def clean_headers(headers: Mapping[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (headers or {}).items() if k not in _BROKER_HEADERS}


def retry_headers(
    headers: Mapping[str, Any] | None,
    *,
    next_attempt: int,
    original_exchange: str,
    original_routing_key: str,
    now: datetime,
    exc: BaseException,
) -> dict[str, Any]:
    out = clean_headers(headers)
    out[H_ATTEMPT] = next_attempt
    out.setdefault(H_ORIGINAL_EXCHANGE, original_exchange)
    out.setdefault(H_ORIGINAL_ROUTING_KEY, original_routing_key)
    out.setdefault(H_FIRST_FAILURE, now.isoformat())
    out[H_LAST_FAILURE] = now.isoformat()
    out[H_EXCEPTION_TYPE] = _exc_type(exc)
    out[H_EXCEPTION_MESSAGE] = _truncate(str(exc))
    return out


def fault_headers(
    headers: Mapping[str, Any] | None,
    *,
    reason: FaultReason,
    exc_type: str,
    exc_message: str,
    stacktrace: str | None,
    attempts: int,
    queue: str,
    service: str,
    host: str,
    original_exchange: str,
    original_routing_key: str,
    now: datetime,
) -> dict[str, Any]:
    out = clean_headers(headers)
    out.setdefault(H_ORIGINAL_EXCHANGE, original_exchange)
    out.setdefault(H_ORIGINAL_ROUTING_KEY, original_routing_key)
    out.setdefault(H_FIRST_FAILURE, now.isoformat())
    out.update(
        {
            H_ATTEMPT: attempts,
            H_ORIGINAL_QUEUE: queue,
            H_LAST_FAILURE: now.isoformat(),
            H_EXCEPTION_TYPE: exc_type,
            H_EXCEPTION_MESSAGE: _truncate(exc_message),
            H_FAILED_SERVICE: service,
            H_FAILED_HOST: host,
            H_FAULT_REASON: reason.value,
        }
    )
    if stacktrace:
        out[H_STACKTRACE] = stacktrace[-MAX_TEXT:]
    return out


def replay_headers(headers: Mapping[str, Any] | None) -> dict[str, Any]:
    """Headers for a parked message sent back to its queue: attempts start again,
    the failure history stays for the record."""
    out = clean_headers(headers)
    out[H_ATTEMPT] = 1
    out[H_REPLAYED] = True
    out.pop(H_OUTAGE_RETRIES, None)
    out.pop(H_FAULT_REASON, None)
    out.pop(H_STACKTRACE, None)
    return out


def _exc_type(exc: BaseException) -> str:
    cls = type(exc)
    return f"{cls.__module__}.{cls.__qualname__}"


def exception_type_name(exc: BaseException) -> str:
    return _exc_type(exc)


def _truncate(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 3] + "..."

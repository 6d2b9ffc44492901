"""First step of the pipeline: a delivery becomes an `Inbound`, or a `Fault`.

Everything read from the wire is decoded here, headers included, so that no
malformed value can raise later, outside this step, and loop through requeues.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from tradebus_contracts import Contract, Envelope, InvalidEnvelope

from .failures import (
    H_ATTEMPT,
    H_DEADLINE,
    H_FIRST_FAILURE,
    H_OUTAGE_RETRIES,
    H_REPLAYED,
    Fault,
    FaultReason,
    exception_type_name,
)

# Past this many broker redeliveries (crashes mid-handler) we park the message
# ourselves, before the broker's x-delivery-limit would drop our fault headers.
H_DELIVERY_COUNT = "x-delivery-count"


@dataclass(frozen=True, slots=True)
class Inbound:
    envelope: Envelope
    payload: Contract
    attempt: int
    outage_retries: int
    deadline: datetime | None
    first_failure: datetime | None
    replayed: bool


class Rejected(Exception):
    """The delivery cannot be handled; `fault` says why, `envelope` if it was read."""

    def __init__(self, fault: Fault, envelope: Envelope | None = None) -> None:
        super().__init__(fault.message)
        self.fault = fault
        self.envelope = envelope


def envelope_of(headers: Mapping[str, Any] | None) -> Envelope | None:
    """The envelope if the headers hold a valid one (for fault reports), else None."""
    try:
        return Envelope.from_headers(headers)
    except Exception:
        return None


@dataclass(frozen=True, slots=True)
class Decoder:
    queue: str
    models: Mapping[str, type[Contract]]
    max_body_bytes: int
    poison_redeliveries: int

    def __call__(self, headers: Mapping[str, Any] | None, body: bytes) -> Inbound:
        headers = headers or {}
        if len(body) > self.max_body_bytes:
            raise Rejected(
                Fault(
                    FaultReason.TOO_LARGE,
                    "BodyTooLarge",
                    f"body of {len(body)} bytes exceeds the {self.max_body_bytes}-byte limit",
                ),
                envelope_of(headers),
            )
        try:
            envelope = Envelope.from_headers(headers)
        except Exception as exc:  # InvalidEnvelope, or anything a hostile header raises
            raise Rejected(_malformed(exc)) from exc
        try:
            redeliveries = _int(headers.get(H_DELIVERY_COUNT), 0)
            attempt = max(1, _int(headers.get(H_ATTEMPT), 1))
            outage_retries = max(0, _int(headers.get(H_OUTAGE_RETRIES), 0))
            deadline = _deadline(headers.get(H_DEADLINE))
            first_failure = _time(headers.get(H_FIRST_FAILURE))
            replayed = bool(headers.get(H_REPLAYED, False))
        except Exception as exc:
            raise Rejected(_malformed(exc), envelope) from exc
        if redeliveries >= self.poison_redeliveries:
            raise Rejected(
                Fault(
                    FaultReason.DELIVERY_LIMIT,
                    "DeliveryLimitExceeded",
                    f"delivered {redeliveries + 1} times without an outcome "
                    "(the handler's process kept dying)",
                ),
                envelope,
            )
        model = self.models.get(envelope.type)
        if model is None:
            raise Rejected(
                Fault(
                    FaultReason.UNKNOWN_TYPE,
                    "UnknownMessageType",
                    f"{self.queue} does not handle {envelope.type!r}",
                ),
                envelope,
            )
        try:
            payload = model.model_validate_json(body)
        except ValidationError as exc:
            raise Rejected(
                Fault(FaultReason.MALFORMED, "ValidationError", summarise(exc)), envelope
            ) from exc
        return Inbound(
            envelope, payload, attempt, outage_retries, deadline, first_failure, replayed
        )


def _malformed(exc: BaseException) -> Fault:
    name = "InvalidEnvelope" if isinstance(exc, InvalidEnvelope) else exception_type_name(exc)
    return Fault(FaultReason.MALFORMED, name, f"unreadable headers: {exc}")


def _int(raw: Any, default: int) -> int:
    if raw is None:
        return default
    if isinstance(raw, bool):
        raise ValueError(f"expected an integer, got {raw!r}")
    return int(raw)


def _deadline(raw: Any) -> datetime | None:
    if raw is None:
        return None
    if isinstance(raw, bytes | bytearray):
        raw = raw.decode("ascii")
    value = float(raw)
    if not math.isfinite(value):
        raise ValueError(f"deadline {raw!r} is not a finite timestamp")
    # datetime.fromtimestamp raises OverflowError/OSError past year 9999; clamp instead.
    return datetime.fromtimestamp(min(max(value, 0.0), 253_402_300_799.0), UTC)


def _time(raw: Any) -> datetime | None:
    if raw is None:
        return None
    text = raw.decode("utf-8") if isinstance(raw, bytes | bytearray) else str(raw)
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def summarise(exc: ValidationError) -> str:
    parts = [
        f"{'.'.join(str(p) for p in err['loc']) or '(body)'}: {err['msg']}"
        for err in exc.errors()[:5]
    ]
    more = exc.error_count() - len(parts)
    return "; ".join(parts) + (f" (+{more} more)" if more > 0 else "")

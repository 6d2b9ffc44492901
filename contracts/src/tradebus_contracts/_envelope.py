"""CloudEvents 1.0 envelope carried as AMQP application headers.

Follows the CloudEvents AMQP protocol binding (binary content mode): every
context attribute is an application property named ``cloudEvents:<attr>``, the
body is the JSON payload and ``content_type`` is ``application/json``.
Extension attributes are lowercase alphanumerics, as the spec requires.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/json"
PREFIX = "cloudEvents:"

_REQUIRED = ("id", "source", "type", "specversion")
# attribute name in the envelope -> CloudEvents attribute / extension name
_OPTIONAL = {
    "subject": "subject",
    "tenant_id": "tenantid",
    "correlation_id": "correlationid",
    "causation_id": "causationid",
    "traceparent": "traceparent",
    "tracestate": "tracestate",
    # The task a message works on: when the message is parked for any reason, even
    # one that keeps its body from being read, the task can still be ended.
    "task_id": "taskid",
    # high | normal | bulk: the share of the batch queues the work gets (fair endpoints),
    # inherited by every message it causes.
    "priority": "priority",
}


_REQUIRED_KEYS = tuple((name, PREFIX + name) for name in _REQUIRED)
_OPTIONAL_KEYS = tuple((attr, PREFIX + name) for attr, name in _OPTIONAL.items())
_TIME_KEY = PREFIX + "time"


class InvalidEnvelope(ValueError):
    """The AMQP headers do not form a valid CloudEvents envelope."""


def new_message_id() -> str:
    return uuid.uuid4().hex


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Envelope:
    type: str
    source: str
    id: str = field(default_factory=new_message_id)
    time: datetime = field(default_factory=_now)
    subject: str | None = None
    tenant_id: str | None = None
    correlation_id: str | None = None
    causation_id: str | None = None
    traceparent: str | None = None
    tracestate: str | None = None  # W3C vendor trace data, with traceparent
    task_id: str | None = None
    priority: str | None = None
    specversion: str = SPEC_VERSION

    def __post_init__(self) -> None:
        if self.correlation_id is None:
            # A conversation starts here: the first message correlates with itself.
            object.__setattr__(self, "correlation_id", self.id)

    def to_headers(self) -> dict[str, str]:
        headers = {
            PREFIX + "id": self.id,
            PREFIX + "source": self.source,
            PREFIX + "type": self.type,
            PREFIX + "specversion": self.specversion,
            PREFIX + "time": self.time.isoformat(),
        }
        for attr, name in _OPTIONAL.items():
            value = getattr(self, attr)
            if value is not None:
                headers[PREFIX + name] = value
        return headers

    @classmethod
    def from_headers(cls, headers: Mapping[str, Any] | None) -> Envelope:
        # On every consumed message: kept to plain lookups (values arrive as str
        # from pamqp, bytes from some other clients).
        if not headers:
            raise InvalidEnvelope("message has no CloudEvents headers")
        get = headers.get
        values: dict[str, Any] = {}
        for name, key in _REQUIRED_KEYS:
            raw = get(key)
            if not raw:
                raise InvalidEnvelope(f"missing required header {key}")
            values[name] = raw if type(raw) is str else _text(raw)
        if values["specversion"] != SPEC_VERSION:
            raise InvalidEnvelope(f"unsupported CloudEvents specversion {values['specversion']!r}")
        raw_time = get(_TIME_KEY)
        if raw_time is not None:
            try:
                parsed = datetime.fromisoformat(_text(raw_time))
            except ValueError as exc:
                raise InvalidEnvelope(f"invalid {_TIME_KEY} {raw_time!r}") from exc
            values["time"] = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        for attr, key in _OPTIONAL_KEYS:
            raw = get(key)
            if raw is not None:
                values[attr] = raw if type(raw) is str else _text(raw)
        return cls(**values)

    def caused(self, type: str, source: str, **overrides: Any) -> Envelope:
        """An envelope for a message caused by this one: same tenant, conversation and trace."""
        return Envelope(
            type=type,
            source=source,
            tenant_id=overrides.pop("tenant_id", self.tenant_id),
            correlation_id=self.correlation_id,
            causation_id=self.id,
            traceparent=overrides.pop("traceparent", self.traceparent),
            tracestate=overrides.pop("tracestate", self.tracestate),
            task_id=overrides.pop("task_id", self.task_id),
            priority=overrides.pop("priority", self.priority),
            **overrides,
        )

    def with_(self, **changes: Any) -> Envelope:
        return replace(self, **changes)


def _text(value: Any) -> str:
    # AMQP header values may arrive as bytes (longstr) depending on the client.
    if isinstance(value, bytes | bytearray):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidEnvelope(f"header value is not UTF-8: {bytes(value[:32])!r}") from exc
    return str(value)

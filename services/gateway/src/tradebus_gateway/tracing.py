"""Trace context and correlation ids for the calls the gateway makes on a client's behalf.

A malformed `traceparent` or correlation id is ignored, not refused: W3C trace context
asks receivers to restart the trace rather than fail a request over a tracing header."""

from __future__ import annotations

import re
import secrets
import uuid

_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
CORRELATION_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def child_traceparent(incoming: str | None) -> str:
    """The gateway's own span in the caller's trace, or the root of a new trace."""
    match = _TRACEPARENT.match(incoming.strip().lower()) if incoming else None
    if match and match.group(1) != "0" * 32 and match.group(2) != "0" * 16:
        trace_id, flags = match.group(1), match.group(3)
    else:
        trace_id, flags = secrets.token_hex(16), "01"
    return f"00-{trace_id}-{secrets.token_hex(8)}-{flags}"


def correlation_id(incoming: str | None) -> str:
    """The caller's correlation id when it is usable, else a new one."""
    if incoming and CORRELATION_ID.match(incoming):
        return incoming
    return uuid.uuid4().hex

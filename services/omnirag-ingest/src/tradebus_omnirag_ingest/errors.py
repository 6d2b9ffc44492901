"""The ways an ingest fails for good. Each carries a `code` (the task's `error.code`),
and its message starts with that code, so the parked message's headers say it too."""

from __future__ import annotations

from tradebus_messaging import PermanentError


class IngestRejected(PermanentError):
    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(f"{code}: {message}", code=code)


class FetchRefused(IngestRejected):
    """The source cannot be fetched: forbidden address, 4xx, too large, not found."""


class DocumentRejected(IngestRejected):
    """The document itself is unusable: corrupt, unsupported, empty, too complex."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, code=code)


def error_code(exc: Exception) -> str:
    """The task's error code for a failure; transient ones that ran out of attempts
    are `ingest_failed`."""
    if isinstance(exc, PermanentError):
        return exc.code
    if isinstance(exc, TimeoutError):
        return "fetch_timeout"
    return "ingest_failed"

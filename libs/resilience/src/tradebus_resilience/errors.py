"""What a guarded downstream call can fail with. Callers catch `DownstreamError` and
apply their named degradation; `reason` says which budget or failure it was."""

from __future__ import annotations


class DownstreamError(Exception):
    reason = "error"

    def __init__(self, downstream: str, message: str) -> None:
        super().__init__(f"{downstream}: {message}")
        self.downstream = downstream


class CircuitOpen(DownstreamError):
    reason = "circuit_open"


class DownstreamBusy(DownstreamError):
    """The concurrency budget stayed full for the whole time the caller could wait."""

    reason = "busy"


class DownstreamTimeout(DownstreamError):
    reason = "timeout"


class DownstreamUnavailable(DownstreamError):
    """Transport failure: connection refused or reset, DNS, protocol error."""

    reason = "unavailable"


class DownstreamHTTPError(DownstreamError):
    def __init__(
        self, downstream: str, status: int, message: str, *, retry_after: float | None = None
    ) -> None:
        super().__init__(downstream, f"HTTP {status}: {message}")
        self.status = status
        self.retry_after = retry_after

    @property
    def reason(self) -> str:  # type: ignore[override]
        return "rate_limited" if self.status == 429 else f"http_{self.status}"

    @property
    def transient(self) -> bool:
        return self.status == 429 or self.status >= 500

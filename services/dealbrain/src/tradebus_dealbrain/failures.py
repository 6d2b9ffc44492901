"""How a degradation is logged: an expected downstream failure is a warning; anything
else reaching a fallback is a bug in a provider and gets its stack trace."""

from __future__ import annotations

from typing import Any

from tradebus_resilience import DownstreamError


def log_degradation(log: Any, event: str, exc: BaseException, **fields: Any) -> None:
    error = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, DownstreamError | TimeoutError):
        log.warning(event, error=error, **fields)
    else:
        log.error(event, error=error, exc_info=exc, **fields)

"""Failures the providers add to those of `tradebus_resilience`."""

from __future__ import annotations

from tradebus_resilience import DownstreamError


class MalformedResponse(DownstreamError):
    """A 2xx answer whose body is not the API's shape. Not retried (the same request
    would get the same answer) but counted against the breaker."""

    reason = "malformed"

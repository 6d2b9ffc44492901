"""A tenant's request rate: the limit every tenant route takes a unit of (online calls take
it in the same Redis round trip as their in-flight slot), and the 429 that refuses."""

from __future__ import annotations

import math

from tradebus_resilience import RateLimitItem, rate_item

from .errors import ApiError
from .settings import GatewaySettings


def tenant_rate(settings: GatewaySettings) -> RateLimitItem:
    return rate_item(settings.tenant_rate_per_second, settings.tenant_burst)


def rate_limited(
    settings: GatewaySettings, wait: float, headers: dict[str, str] | None = None
) -> ApiError:
    return ApiError(
        429,
        "rate_limited",
        f"tenant request rate above {settings.tenant_rate_per_second:g}/s",
        headers={"Retry-After": str(max(1, math.ceil(wait))), **(headers or {})},
    )

"""The operator routes' view of the broker: the live queues of the gateway's vhost, in
one management API call; unreachable is `503 unavailable`, as for every broker outage."""

from __future__ import annotations

from typing import Any

import httpx

from tradebus_messaging import BusSettings
from tradebus_messaging.queue_stats import ManagementQueues, vhost_of

from ..errors import ApiError


def unavailable(what: str, retry_after: int) -> ApiError:
    return ApiError(503, "unavailable", what, headers={"Retry-After": str(retry_after)})


async def live_queues(settings: BusSettings, *, retry_after: int) -> list[dict[str, Any]]:
    fetch = ManagementQueues(settings.management_url, vhost_of(settings.url), timeout=5.0)
    try:
        return await fetch()
    except httpx.HTTPError as exc:
        raise unavailable("broker management API unavailable", retry_after) from exc

"""Request metrics for every REST route: one histogram by method, route template and
status, whose `_count` is the request rate and whose 5xx share is the error rate.

A plain ASGI middleware of ~40 lines rather than a library: the label must be the route
*template* (`/v1/tasks/{task_id}`), never the raw path, or every id becomes a series;
Starlette leaves the matched route in the scope, so we read it after the app ran."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from prometheus_client import Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_SECONDS = Histogram(
    "tradebus_http_request_seconds",
    "REST request latency by method, route template and status (its _count is the rate).",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"  # 404s of unknown paths share one series


class RequestMetrics:
    def __init__(self, app: ASGIApp, *, exclude: Iterable[str] = ()) -> None:
        self.app = app
        self.exclude = frozenset(exclude)
        # The series by (method, route, status): `labels()` costs a lock and a tuple
        # per call; the set of series is bounded by the routes, so they are kept.
        self._series: dict[tuple[str, str, int], Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # an exception before the response started is a 500 to the client
        started = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = getattr(scope.get("route"), "path", None) or UNMATCHED
            if route not in self.exclude:
                self._series_of(scope.get("method", "GET"), route, status).observe(
                    time.perf_counter() - started
                )

    def _series_of(self, method: str, route: str, status: int) -> Any:
        key = (method if method in METHODS else "OTHER", route, status)
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = REQUEST_SECONDS.labels(key[0], route, str(status))
        return series

"""Liveness, readiness and Prometheus metrics over HTTP, served inside the
service's own event loop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

Readiness = Callable[[], Awaitable[dict[str, bool]]]
Liveness = Callable[[], bool]


def health_app(readiness: Readiness, liveness: Liveness | None = None) -> Starlette:
    async def healthz(_: Request) -> Response:
        # Unhealthy only for what a restart fixes (e.g. a consumer that cannot come
        # back); a broker outage is readiness, or every pod would restart at once.
        if liveness is not None and not liveness():
            return JSONResponse({"status": "unhealthy"}, status_code=503)
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> Response:
        checks = await readiness()
        ready = all(checks.values())
        return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)

    async def metrics(_: Request) -> Response:
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    return Starlette(
        routes=[Route("/healthz", healthz), Route("/readyz", readyz), Route("/metrics", metrics)]
    )


class HealthServer:
    def __init__(self, server: uvicorn.Server, task: asyncio.Task[None]) -> None:
        self._server = server
        self._task = task

    async def stop(self) -> None:
        self._server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(self._task, timeout=5)


async def serve_health(app: Starlette, *, host: str, port: int) -> HealthServer:
    config = uvicorn.Config(
        app, host=host, port=port, log_level="warning", access_log=False, lifespan="off"
    )
    server = uvicorn.Server(config)
    # The service owns SIGTERM (drain consumers first); uvicorn must not capture it.
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # raises the bind error
            raise RuntimeError(f"health server on {host}:{port} stopped at start")
        await asyncio.sleep(0.01)
    return HealthServer(server, task)

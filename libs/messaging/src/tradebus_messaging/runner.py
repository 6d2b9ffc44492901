"""Process lifecycle for a worker service: logging, health endpoints, the bus,
and a graceful stop on SIGTERM/SIGINT.

A service's `__main__` builds its pieces in its composition root and hands
them here; nothing in this module knows what the service does.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

import structlog
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from .bus import Bus

log = structlog.get_logger("tradebus.runner")

Check = Callable[[], Awaitable[bool]]
Hook = Callable[[], Awaitable[None]]


@dataclass
class Worker:
    """What `run_worker` needs: the bus plus optional extra readiness checks
    (e.g. the database) and start/stop hooks for the service's own resources."""

    service: str
    bus: Bus
    http_port: int
    http_host: str = "0.0.0.0"
    checks: Mapping[str, Check] = field(default_factory=dict)
    on_start: Hook | None = None
    on_stop: Hook | None = None


async def readiness(worker: Worker) -> dict[str, bool]:
    results = dict(worker.bus.readiness())
    for name, check in worker.checks.items():
        try:
            results[name] = bool(await asyncio.wait_for(check(), timeout=2))
        except Exception:
            results[name] = False
    return results


async def run_worker(worker: Worker, *, stop: asyncio.Event | None = None) -> None:
    """Run until SIGTERM/SIGINT (or `stop` is set), then shut down in order:
    stop consuming and drain in-flight work, run on_stop, close health."""
    from tradebus_observability import EventLoopLagMonitor, health_app, serve_health

    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)

    health = await serve_health(
        health_app(lambda: readiness(worker), worker.bus.healthy),
        host=worker.http_host,
        port=worker.http_port,
    )
    loop_lag = EventLoopLagMonitor()
    loop_lag.start()
    try:
        if worker.on_start is not None:
            await worker.on_start()
        # Don't block on the broker: readiness reports it until it is reachable.
        await worker.bus.start(wait=False)
        log.info("worker started", service=worker.service, http_port=worker.http_port)
        await stop.wait()
        log.info("stopping", service=worker.service)
    finally:
        await worker.bus.stop()
        if worker.on_stop is not None:
            await worker.on_stop()
        await loop_lag.stop()
        await health.stop()
        log.info("stopped", service=worker.service)


def default_replica_id() -> str:
    """The pod name in Kubernetes; the pid tells apart several processes on one host."""
    return f"{socket.gethostname()}-{os.getpid()}"


class WorkerSettings(BaseSettings):
    """Process-level settings every worker shares; services subclass it."""

    model_config = SettingsConfigDict(extra="ignore")

    http_host: str = Field("0.0.0.0", validation_alias="TRADEBUS_HTTP_HOST")
    http_port: int = Field(8080, validation_alias="TRADEBUS_HTTP_PORT")
    log_level: str = Field("INFO", validation_alias="TRADEBUS_LOG_LEVEL")
    log_json: bool = Field(True, validation_alias="TRADEBUS_LOG_JSON")
    # A worker started while MongoDB or the broker is down waits this long for it.
    startup_outage_seconds: float = Field(
        300.0, ge=0, validation_alias="TRADEBUS_STARTUP_OUTAGE_SECONDS"
    )


def main(service: str, build: Callable[[], Awaitable[Worker]], settings: WorkerSettings) -> None:
    """Entry point for `python -m tradebus_<service>`: configure logging and tracing (from
    the `OTEL_*` variables), build the worker inside the event loop (clients bind to it)
    and run it until signalled."""
    from tradebus_observability import configure_logging, configure_tracing

    configure_logging(service, settings.log_level, json=settings.log_json)
    # Before build: the clients it makes (httpx, pymongo) are instrumented when tracing is on.
    tracing = configure_tracing(service)

    async def run() -> None:
        await run_worker(await build_riding_out_outages(build, settings.startup_outage_seconds))

    try:
        asyncio.run(run())
    finally:
        tracing.shutdown()  # after the drain: its last spans are exported too


async def build_riding_out_outages(build: Callable[[], Awaitable[Worker]], budget: float) -> Worker:
    """Build the worker; while the database or broker is unreachable (a pod restarted
    during an outage) keep trying for `budget` seconds instead of crash-looping."""
    from .retry import is_outage

    deadline = asyncio.get_running_loop().time() + budget
    delay = 0.5
    while True:
        try:
            return await build()
        except Exception as exc:
            if not is_outage(exc) or asyncio.get_running_loop().time() + delay > deadline:
                raise
            log.warning("start-up waits for its infrastructure", error=repr(exc), retry_in=delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)

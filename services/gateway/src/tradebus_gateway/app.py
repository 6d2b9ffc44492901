"""Composition root of the gateway: `create_app(settings)`."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from fastapi import FastAPI

from tradebus_contracts import REGISTRY
from tradebus_messaging import Bus, BusSettings
from tradebus_messaging.queue_stats import (
    ManagementQueues,
    QueueStatsSampler,
    QueueStatsSettings,
    vhost_of,
)
from tradebus_observability import EventLoopLagMonitor
from tradebus_resilience import SharedLimits
from tradebus_storage import (
    BlobStore,
    LeaseRepository,
    MongoSettings,
    ScheduleSettings,
    TaskBacklog,
    TaskRepository,
    WebhookRepository,
    open_database,
)

from . import errors, openapi, operator
from .admission import BacklogAdmission
from .admission_policy import AdmissionPolicy
from .api import (
    batches,
    contract,
    dealbrain,
    document_routes,
    documents,
    health,
    quality,
    schedules,
    shadowhunter,
    tasks,
    webhooks,
)
from .api.online_answer import OnlineRoute
from .auth import ApiKeyRepository
from .console import ConsoleSettings
from .console import install as install_console
from .key_directory import KeyDirectory
from .online import online_endpoints
from .online_fast_path import OnlineFastPath
from .request_metrics import RequestMetrics
from .settings import GatewaySettings
from .state import GatewayState
from .submission_refusal import SubmissionRefusal
from .task_faults import subscribe_task_faults
from .watchdog import Watchdog, WatchdogPolicy

SERVICE = "gateway"

ONLINE_ROUTERS = (dealbrain.router, shadowhunter.hunt_router, shadowhunter.nexus_router)
# The online routes without path parameters, answered in front of FastAPI in the common case.
ONLINE_FAST_ROUTES: dict[str, OnlineRoute[Any]] = {
    "/v1/dealbrain/ask": dealbrain.ASK,
    "/v1/shadowhunter/hunt": shadowhunter.HUNT,
    "/v1/nexus/assess": shadowhunter.ASSESS,
}

DESCRIPTION = """Public REST API of tradebus.

Authenticate with `Authorization: Bearer <api key>`; every resource belongs to the key's
tenant. Long-running work (document ingestion) is accepted at once with `202` and a task id:
poll `GET /v1/tasks/{id}`. Online work (deal Q&A, lead hunting, counterparty assessment)
answers in the request within a deadline (`X-Request-Timeout` may shorten it): `504` when
no answer came in time, `429` when too many such calls are in flight. Errors share one
body: `{"code": ..., "message": ...}`. `429` and `503` answers carry `Retry-After`.
"""


def create_app(
    settings: GatewaySettings | None = None,
    *,
    bus_settings: BusSettings | None = None,
    mongo_settings: MongoSettings | None = None,
    queue_stats_settings: QueueStatsSettings | None = None,
    schedule_settings: ScheduleSettings | None = None,
    console_settings: ConsoleSettings | None = None,
) -> FastAPI:
    """The bus and MongoDB settings default to the environment's; tests and benchmarks
    pass their own (a vhost, a database) instead of changing the process environment."""
    settings = settings or GatewaySettings()
    queue_stats_settings = queue_stats_settings or QueueStatsSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        client, db = open_database(mongo_settings)
        bus = Bus(bus_settings or BusSettings(service=SERVICE), registry=REGISTRY)
        task_repo = TaskRepository(db, result_ttl=timedelta(seconds=settings.result_ttl_seconds))
        # A parked message's task fails with the fault's reason: a task always ends.
        subscribe_task_faults(bus, task_repo)
        # The API answers (503 via readiness) while the broker is still coming up.
        await bus.start(wait=False)
        keys = ApiKeyRepository(db)
        directory = KeyDirectory(
            db,
            refresh_seconds=settings.api_key_cache_seconds,
            catch_up_seconds=settings.api_key_catch_up_seconds,
        )
        await directory.ensure_indexes()
        limits = SharedLimits(settings.redis_url, prefix=settings.limits_prefix)
        await task_repo.ensure_indexes()
        await WebhookRepository(db).ensure_indexes()
        if settings.bootstrap_api_key is not None:
            await keys.bootstrap(settings.bootstrap_api_key.get_secret_value())
        await operator.prepare(db, settings)
        backlog = TaskBacklog(db)
        await backlog.ensure_indexes()
        admission = BacklogAdmission(
            backlog,
            AdmissionPolicy(
                slo_seconds=settings.ingest_slo_seconds,
                floor=settings.ingest_backlog_floor,
                share=settings.ingest_tenant_share,
                retry_after_cap=settings.retry_after_max_seconds,
                quotas=settings.ingest_tenant_quotas,
            ),
            interval=settings.admission_sample_seconds,
            window=settings.admission_window_seconds,
        )
        admission.start()
        watchdog = asyncio.create_task(
            Watchdog(bus, task_repo, WatchdogPolicy.from_settings(settings)).run(
                LeaseRepository(db),
                holder=f"{socket.gethostname()}:{id(app)}",
                interval=settings.reconcile_interval_seconds,
            )
        )
        # Queue depths for dashboards and alerts: one replica samples the broker.
        queue_stats = QueueStatsSampler(
            ManagementQueues(
                bus.settings.management_url,
                vhost_of(bus.settings.url),
                timeout=queue_stats_settings.timeout_seconds,
            ),
            interval=queue_stats_settings.interval_seconds,
            leases=LeaseRepository(db),
            holder=f"{socket.gethostname()}:{id(app)}",
        )
        if queue_stats_settings.enabled:
            queue_stats.start()
        loop_lag = EventLoopLagMonitor()
        loop_lag.start()
        app.state.gateway = GatewayState(
            settings=settings,
            bus=bus,
            mongo_client=client,
            db=db,
            tasks=task_repo,
            blobs=BlobStore(db),
            keys=keys,
            directory=directory,
            limits=limits,
            admission=admission,
            online=online_endpoints(settings, limits),
        )
        try:
            yield
        finally:
            await loop_lag.stop()
            await queue_stats.stop()
            watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watchdog
            await admission.stop()
            await bus.stop()
            await limits.close()
            await client.close()

    app = FastAPI(
        title="tradebus gateway",
        version="0.1.0",
        lifespan=lifespan,
        description=DESCRIPTION,
    )
    errors.install(app)
    batch_router = batches.router_for(settings)
    # Inside the request metrics, which count what they answer as the routes' own.
    app.add_middleware(SubmissionRefusal, routes=[*documents.router.routes, *batch_router.routes])
    app.add_middleware(
        OnlineFastPath,
        routes=ONLINE_FAST_ROUTES,
        declared=[route for router in ONLINE_ROUTERS for route in router.routes],
        prefixes=tuple(f"{router.prefix}/" for router in ONLINE_ROUTERS),
    )
    app.add_middleware(RequestMetrics, exclude={"/healthz", "/readyz", "/metrics"})
    openapi.install(app)
    # The online routes first: routes are matched in order, each one tried costs every
    # request behind it, and these are the ones a person waits on.
    for router in ONLINE_ROUTERS:
        app.include_router(router)
    app.include_router(health.router)
    app.include_router(contract.router)
    app.include_router(documents.router)
    app.include_router(batch_router)
    app.include_router(document_routes.router)
    app.include_router(tasks.router)
    app.include_router(webhooks.router)
    app.include_router(quality.router)
    # The schedules the notifier runs (the same TRADEBUS_SCHEDULES), shown read-only.
    app.state.schedules = schedule_settings or ScheduleSettings()
    app.include_router(schedules.router)
    app.include_router(operator.router)
    # The operator console (/console): pages over the operator API, not in the OpenAPI.
    install_console(app, console_settings or ConsoleSettings())
    return app

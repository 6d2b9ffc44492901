from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from tradebus_storage import ping

router = APIRouter(tags=["operations"])


@router.get(
    "/healthz",
    summary="Liveness: the process serves requests and its consumers are not lost for good",
    responses={503: {"description": "A consumer has been missing past its bound: restart me"}},
)
async def healthz(request: Request) -> JSONResponse:
    state = request.app.state.gateway
    if not state.bus.healthy():
        return JSONResponse({"status": "unhealthy"}, status_code=503)
    return JSONResponse({"status": "ok"})


@router.get(
    "/readyz",
    summary="Readiness: broker and database reachable",
    responses={503: {"description": "A dependency is unavailable"}},
)
async def readyz(request: Request) -> JSONResponse:
    state = request.app.state.gateway
    # Every consumer of the gateway's own (task faults) counts: a missing one means
    # parked tasks would stay unfinished.
    checks = {**state.bus.readiness(), "mongodb": await ping(state.db)}
    ready = all(checks.values())
    return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)


@router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
async def metrics() -> Response:
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

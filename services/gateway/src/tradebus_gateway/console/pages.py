"""The console's pages: each one the answer of one or two operator API calls, rendered.

A page's live part (`_<page>.html`) also answers htmx's polls on the same URL."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from tradebus_contracts.tasks import TaskStatus

from .client import ApiProblem, segment
from .deps import Api, CurrentSession, State
from .session import Session

router = APIRouter(prefix="/console", include_in_schema=False)

PAGE_SIZE = 50
MESSAGES_SHOWN = 200
TASK_FILTERS = ("tenant", "kind", "status", "created_after", "created_before")
TASK_STATUSES = tuple(status.value for status in TaskStatus)


def _query(request: Request, *names: str) -> dict[str, str]:
    return {name: request.query_params.get(name, "").strip() for name in names}


def _utc(local: str) -> str:
    """A `datetime-local` input (`2026-12-03T08:10`, shown as UTC) as an ISO time."""
    if not local or local.endswith("Z") or "+" in local:
        return local
    return local + (":00Z" if local.count(":") == 1 else "Z")


@router.get("/overview")
async def overview(
    request: Request, state: State, session: CurrentSession, api: Api
) -> HTMLResponse:
    data = await api.get("/v1/operator/overview")
    return state.renderer.page(
        request, "overview.html", session=session, active="overview", data=data
    )


@router.get("/tasks")
async def tasks(request: Request, state: State, session: CurrentSession, api: Api) -> HTMLResponse:
    filters = _query(request, *TASK_FILTERS)
    params: dict[str, Any] = {k: v for k, v in filters.items() if v}
    for name in ("created_after", "created_before"):
        if name in params:
            params[name] = _utc(params[name])
    params["limit"] = PAGE_SIZE
    params["cursor"] = request.query_params.get("cursor", "")
    problem: ApiProblem | None = None
    try:
        data = await api.get("/v1/operator/tasks", params)
    except ApiProblem as refused:
        if refused.status != 422:
            raise
        data, problem = {"items": [], "next_cursor": None}, refused
    return state.renderer.page(
        request,
        "tasks.html",
        session=session,
        active="tasks",
        data=data,
        filters=filters,
        statuses=TASK_STATUSES,
        problem=problem,
    )


@router.get("/tasks/{task_id}")
async def task(
    task_id: str, request: Request, state: State, session: CurrentSession, api: Api
) -> HTMLResponse:
    data = await api.get(f"/v1/operator/tasks/{segment(task_id)}")
    return state.renderer.page(request, "task.html", session=session, active="tasks", task=data)


@router.get("/parking")
async def parking(
    request: Request, state: State, session: CurrentSession, api: Api
) -> HTMLResponse:
    data = await api.get("/v1/operator/parking")
    return state.renderer.page(
        request, "parking.html", session=session, active="parking", lots=data.get("lots", [])
    )


@router.get("/parking/{lot}")
async def parking_lot(
    lot: str, request: Request, state: State, session: CurrentSession, api: Api
) -> HTMLResponse:
    reason = request.query_params.get("reason", "")
    messages = await api.get(
        f"/v1/operator/parking/{segment(lot)}/messages",
        {"reason": reason, "limit": MESSAGES_SHOWN},
    )
    lots = (await api.get("/v1/operator/parking")).get("lots", [])
    summary = next((one for one in lots if one.get("queue") == lot), None)
    return state.renderer.page(
        request,
        "lot.html",
        session=session,
        active="parking",
        lot=lot,
        summary=summary,
        reason=reason,
        messages=messages.get("items", []),
    )


async def _listing(
    request: Request,
    state: State,
    session: Session,
    api: Api,
    *,
    active: str,
    filters: dict[str, str] | None = None,
) -> HTMLResponse:
    """A page of `/v1/operator/<active>`, carried on by the page's `cursor`; `filters`
    go to the API and, by the same names, to the template."""
    filters = filters or {}
    cursor = request.query_params.get("cursor", "")
    data = await api.get(
        f"/v1/operator/{active}", {**filters, "limit": PAGE_SIZE, "cursor": cursor}
    )
    context: dict[str, Any] = {**filters, "session": session, "active": active, "data": data}
    return state.renderer.page(request, f"{active}.html", **context)


@router.get("/tenants")
async def tenants(
    request: Request, state: State, session: CurrentSession, api: Api
) -> HTMLResponse:
    return await _listing(request, state, session, api, active="tenants")


@router.get("/webhooks")
async def webhooks(
    request: Request, state: State, session: CurrentSession, api: Api
) -> HTMLResponse:
    return await _listing(request, state, session, api, active="webhooks")


@router.get("/topology")
async def topology(
    request: Request, state: State, session: CurrentSession, api: Api
) -> HTMLResponse:
    data = await api.get("/v1/operator/topology")
    return state.renderer.page(
        request, "topology.html", session=session, active="topology", data=data
    )


@router.get("/audit")
async def audit_log(
    request: Request, state: State, session: CurrentSession, api: Api
) -> HTMLResponse:
    action = request.query_params.get("action", "").strip()
    return await _listing(request, state, session, api, active="audit", filters={"action": action})

"""`tradebus tasks list|show|watch|cancel|delete`: operator routes with an operator key,
the tenant's own routes with a tenant key."""

from __future__ import annotations

import contextlib
import time
from datetime import datetime
from typing import Any

import typer
from rich.live import Live
from rich.table import Table

from ..client import ApiClient
from ..errors import ApiError, CliError, reported
from ..output import console, emit_json, emit_json_line, next_page, safe, show, table
from ..session import session

app = typer.Typer(help="List, show, watch, cancel and delete tasks.", no_args_is_help=True)

JSON = typer.Option(False, "--json", help="machine-readable output")
COLUMNS = ("id", "tenant", "kind", "status", "progress", "updated", "error")


def _filters(
    tenant: str | None,
    kind: str | None,
    status: str | None,
    created_after: datetime | None,
    created_before: datetime | None,
) -> dict[str, str | None]:
    return {
        "tenant": tenant,
        "kind": kind,
        "status": status,
        "created_after": created_after.isoformat() if created_after else None,
        "created_before": created_before.isoformat() if created_before else None,
    }


def fetch_page(
    api: ApiClient, filters: dict[str, str | None], limit: int, cursor: str | None
) -> Any:
    params = {**filters, "limit": limit, "cursor": cursor}
    tenant_route_params = {"status", "kind", "limit", "cursor"}
    try:
        return api.get("/v1/operator/tasks", params)
    except ApiError as exc:
        if exc.status != 403 or exc.code != "forbidden":
            raise
    # A tenant key: its own tasks, with the filters the tenant route has.
    unsupported = sorted(
        k for k, v in params.items() if v is not None and k not in tenant_route_params
    )
    if unsupported:
        options = ", ".join("--" + name.replace("_", "-") for name in unsupported)
        raise CliError(f"{options}: only with an operator key")
    return api.get("/v1/tasks", {k: v for k, v in params.items() if k in tenant_route_params})


def rows(items: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [
        (
            t["id"],
            t.get("tenant_id"),
            t.get("kind"),
            t.get("status"),
            _progress(t.get("progress")),
            t.get("updated_at"),
            (t.get("error") or {}).get("message"),
        )
        for t in items
    ]


def _progress(progress: dict[str, Any] | None) -> str:
    if not progress:
        return "-"
    return f"{progress.get('done', 0)}/{progress.get('total') or '?'}"


TENANT = typer.Option(None, help="only this tenant (operator key)")
KIND = typer.Option(None, help="e.g. rag.ingest")
STATUS = typer.Option(None, help="queued, running, retrying, succeeded, failed, cancelled")
AFTER = typer.Option(None, help="created at or after (ISO 8601; operator key)")
BEFORE = typer.Option(None, help="created before (ISO 8601; operator key)")


@app.command("list")
@reported
def list_(
    ctx: typer.Context,
    tenant: str | None = TENANT,
    kind: str | None = KIND,
    status: str | None = STATUS,
    created_after: datetime | None = AFTER,
    created_before: datetime | None = BEFORE,
    limit: int = typer.Option(50, min=1, max=200),
    cursor: str | None = typer.Option(None, help="from a previous page"),
    as_json: bool = JSON,
) -> None:
    """Tasks, newest first."""
    filters = _filters(tenant, kind, status, created_after, created_before)
    with session(ctx).client() as api:
        page = fetch_page(api, filters, limit, cursor)
    if as_json:
        emit_json(page)
        return
    show("tasks", COLUMNS, rows(page["items"]))
    next_page(page.get("next_cursor"))


@app.command("show")
@reported
def show_(ctx: typer.Context, task_id: str, as_json: bool = JSON) -> None:
    """One task with its history (operator key) and result."""
    with session(ctx).client() as api:
        task = api.operator_or_tenant(
            "GET", f"/v1/operator/tasks/{task_id}", f"/v1/tasks/{task_id}"
        )
    if as_json:
        emit_json(task)
        return
    out = console()
    out.print(table(f"task {task_id}", COLUMNS, rows([task])))
    history = task.get("history") or []
    if history:
        out.print(
            table(
                "history",
                ("at", "status", "reason", "message"),
                (
                    (h.get("at"), h.get("status"), h.get("reason"), h.get("message"))
                    for h in history
                ),
            )
        )
    if task.get("result") is not None:
        out.print(f"result: {safe(str(task['result']))}")


@app.command("watch")
@reported
def watch(
    ctx: typer.Context,
    tenant: str | None = TENANT,
    kind: str | None = KIND,
    status: str | None = STATUS,
    limit: int = typer.Option(20, min=1, max=200),
    interval: float = typer.Option(1.0, min=0.1, help="seconds between refreshes"),
    duration: float | None = typer.Option(None, min=0, help="stop after this many seconds"),
    as_json: bool = typer.Option(False, "--json", help="one JSON page per line and refresh"),
) -> None:
    """A live table of the newest tasks, refreshed until Ctrl-C or --duration."""
    filters = _filters(tenant, kind, status, None, None)
    deadline = None if duration is None else time.monotonic() + duration
    with session(ctx).client() as api, contextlib.suppress(KeyboardInterrupt):
        if as_json:
            while True:
                emit_json_line(fetch_page(api, filters, limit, None))
                if not _pause(interval, deadline):
                    return
        with Live(_live_table(fetch_page(api, filters, limit, None)), console=console()) as live:
            while _pause(interval, deadline):
                live.update(_live_table(fetch_page(api, filters, limit, None)))


def _live_table(page: dict[str, Any]) -> Table:
    return table(f"tasks (refreshed {time.strftime('%H:%M:%S')})", COLUMNS, rows(page["items"]))


def _pause(interval: float, deadline: float | None) -> bool:
    """Sleep until the next refresh; False once the deadline is reached."""
    if deadline is not None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        interval = min(interval, remaining)
    time.sleep(interval)
    return deadline is None or time.monotonic() < deadline


@app.command("cancel")
@reported
def cancel(ctx: typer.Context, task_id: str, as_json: bool = JSON) -> None:
    """Cancel a task: its unprocessed work is skipped (409 if it has already ended)."""
    with session(ctx).client() as api:
        task = api.operator_or_tenant(
            "POST", f"/v1/operator/tasks/{task_id}/cancel", f"/v1/tasks/{task_id}/cancel"
        )
    if as_json:
        emit_json(task)
        return
    typer.echo(f"{task_id} {task['status']}")


@app.command("delete")
@reported
def delete(ctx: typer.Context, task_id: str) -> None:
    """Delete an ended task and its result (tenant key); a live task is refused."""
    with session(ctx).client() as api:
        api.call("DELETE", f"/v1/tasks/{task_id}")
    typer.echo(f"{task_id} deleted")

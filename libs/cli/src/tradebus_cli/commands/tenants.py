"""`tradebus tenants create|list`."""

from __future__ import annotations

from typing import Any

import typer

from ..errors import CliError, reported
from ..local import LocalAdmin
from ..output import emit_json, next_page, show
from ..session import session

app = typer.Typer(help="Create and list tenants.", no_args_is_help=True)

LOCAL = typer.Option(False, "--local", help="write to MongoDB directly (MONGODB_URL)")
JSON = typer.Option(False, "--json", help="machine-readable output")


@app.command("create")
@reported
def create(
    ctx: typer.Context,
    tenant_id: str = typer.Argument(..., help="tenant id, e.g. acme"),
    name: str | None = typer.Option(None, help="display name"),
    key: bool = typer.Option(True, "--key/--no-key", help="also create a first API key"),
    label: str = typer.Option("cli", help="label of that key"),
    local: bool = LOCAL,
    as_json: bool = JSON,
) -> None:
    """Create a tenant and (unless --no-key) print its first API key, shown once."""
    s = session(ctx)
    created: dict[str, Any] = {}
    if s.local(local):

        async def go(admin: LocalAdmin) -> None:
            tenant = await admin.create_tenant(tenant_id, name)
            if tenant is None:
                raise CliError(f"tenant {tenant_id!r} exists")
            created["tenant"] = tenant
            if key:
                created["key"] = await admin.create_key(tenant_id, label)

        s.run_local(go)
    else:
        with s.client() as api:
            body = {"id": tenant_id, **({"name": name} if name else {})}
            created["tenant"] = api.post("/v1/operator/tenants", body)
            if key:
                created["key"] = api.post(
                    f"/v1/operator/tenants/{tenant_id}/keys", {"label": label}
                )
    if as_json:
        emit_json(created)
        return
    typer.echo(f"tenant {tenant_id} created")
    if "key" in created:
        typer.echo(f"API key (shown once): {created['key']['api_key']}")


@app.command("list")
@reported
def list_(
    ctx: typer.Context,
    limit: int = typer.Option(50, min=1, max=200),
    cursor: str | None = typer.Option(None, help="from a previous page"),
    local: bool = LOCAL,
    as_json: bool = JSON,
) -> None:
    """Tenants with their keys, limits, usage over 24 h and recent errors."""
    s = session(ctx)
    if s.local(local):
        page: dict[str, Any] = {
            "items": s.run_local(lambda a: a.list_tenants()),
            "next_cursor": None,
        }
    else:
        with s.client() as api:
            page = api.get("/v1/operator/tenants", {"limit": limit, "cursor": cursor})
    if as_json:
        emit_json(page)
        return
    show(
        "tenants",
        ("id", "name", "active keys", "rate limit", "quota", "tasks 24h", "recent errors"),
        (
            (
                t["id"],
                t.get("name"),
                sum(1 for k in t.get("keys", []) if not k.get("revoked_at")),
                t.get("rate_limit"),
                t.get("quota"),
                (t.get("usage") or {}).get("tasks_24h"),
                len(t.get("recent_errors") or []),
            )
            for t in page["items"]
        ),
    )
    next_page(page.get("next_cursor"))

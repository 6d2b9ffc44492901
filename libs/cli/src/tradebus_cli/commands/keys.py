"""`tradebus keys create|revoke`."""

from __future__ import annotations

from typing import Any

import typer

from ..errors import CliError, reported
from ..output import emit_json
from ..session import session

app = typer.Typer(help="Create and revoke API keys.", no_args_is_help=True)

LOCAL = typer.Option(False, "--local", help="write to MongoDB directly (MONGODB_URL)")
JSON = typer.Option(False, "--json", help="machine-readable output")


@app.command("create")
@reported
def create(
    ctx: typer.Context,
    tenant: str | None = typer.Option(None, "--tenant", help="a key of this tenant"),
    operator: bool = typer.Option(False, "--operator", help="an operator key (no tenant)"),
    label: str = typer.Option("", help="what the key is for"),
    local: bool = LOCAL,
    as_json: bool = JSON,
) -> None:
    """Create a key and print it: it is shown once, only its digest is stored."""
    if (tenant is None) == (not operator):
        raise typer.BadParameter("give exactly one of --tenant T or --operator")
    s = session(ctx)
    if s.local(local):
        created: dict[str, Any] = s.run_local(lambda a: a.create_key(tenant, label))
    else:
        with s.client() as api:
            path = "/v1/operator/keys" if operator else f"/v1/operator/tenants/{tenant}/keys"
            created = api.post(path, {"label": label})
    if as_json:
        emit_json(created)
        return
    typer.echo(f"key {created['key_id']} ({'operator' if operator else tenant})")
    typer.echo(f"API key (shown once): {created['api_key']}")


@app.command("revoke")
@reported
def revoke(
    ctx: typer.Context,
    key_id: str = typer.Argument(..., help="the 12-character key id (or the full digest)"),
    local: bool = LOCAL,
    as_json: bool = JSON,
) -> None:
    """Revoke a key: it stops working within the gateway's key reload interval."""
    s = session(ctx)
    if s.local(local):
        revoked = s.run_local(lambda a: a.revoke_key(key_id))
        if revoked is None:
            raise CliError(f"no key {key_id!r}")
    else:
        with s.client() as api:
            revoked = api.post(f"/v1/operator/keys/{key_id}/revoke")
    if as_json:
        emit_json(revoked)
        return
    typer.echo(f"key {revoked.get('key_id', key_id)} revoked")

"""`tradebus-gateway`: tenants and API keys (direct to MongoDB); folder ingestion, task
cancellation and deletion through the public API (what a client would do)."""

from __future__ import annotations

import asyncio
import hashlib
import mimetypes
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from tradebus_storage import MongoSettings, create_client

from .auth import ApiKeyRepository, new_api_key

app = typer.Typer(help="Operate the tradebus gateway.", no_args_is_help=True)
T = TypeVar("T")

SUFFIXES = {".txt", ".md", ".markdown", ".html", ".htm", ".pdf"}
TERMINAL = {"succeeded", "failed", "cancelled"}


def _with_keys(fn: Callable[[ApiKeyRepository], Awaitable[T]]) -> T:
    async def go() -> T:
        settings = MongoSettings()
        client = create_client(settings)
        try:
            return await fn(ApiKeyRepository(client[settings.database]))
        finally:
            await client.close()

    return asyncio.run(go())


@app.command("create-tenant")
def create_tenant(tenant_id: str, name: str = typer.Option(None, help="display name")) -> None:
    """Create a tenant (idempotent) and print a new API key for it."""
    key = new_api_key()

    async def go(keys: ApiKeyRepository) -> bool:
        created = await keys.create_tenant(tenant_id, name)
        await keys.add_key(tenant_id, key, label="cli")
        return created

    created = _with_keys(go)
    typer.echo(f"tenant {tenant_id} {'created' if created else 'exists'}; API key: {key}")


@app.command("create-key")
def create_key(tenant_id: str, label: str = typer.Option("", help="what the key is for")) -> None:
    """Print a new API key for an existing tenant."""
    key = new_api_key()
    try:
        _with_keys(lambda keys: keys.add_key(tenant_id, key, label=label))
    except LookupError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
    typer.echo(key)


@app.command("ingest")
def ingest(
    folder: Path = typer.Argument(..., exists=True, file_okay=False, help="documents to ingest"),
    api_key: str = typer.Option(..., envvar="TRADEBUS_API_KEY", help="tenant API key"),
    url: str = typer.Option("http://127.0.0.1:8000", envvar="TRADEBUS_GATEWAY_URL"),
    timeout: float = typer.Option(600, help="seconds to wait for every task to finish"),
    wait: bool = typer.Option(True, help="wait until every task has finished"),
) -> None:
    """Upload every txt/md/html/pdf file in FOLDER and wait for the tasks, with progress."""
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES)
    if not files:
        typer.echo(f"no txt/md/html/pdf files in {folder}", err=True)
        raise typer.Exit(1)
    outcome = asyncio.run(_ingest(files, url, api_key, timeout, wait))
    for name, status, detail in outcome:
        typer.echo(f"{status:10} {name} {detail}")
    if any(status not in ("succeeded", "queued", "running") for _, status, _ in outcome):
        raise typer.Exit(1)


async def _ingest(
    files: list[Path], url: str, api_key: str, timeout: float, wait: bool
) -> list[tuple[str, str, str]]:
    headers = {"Authorization": f"Bearer {api_key}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as client:
        submitted: dict[str, Path] = {}
        for path in files:
            content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            if path.suffix.lower() in (".md", ".markdown"):
                content_type = "text/markdown"
            response = await _submit(client, path, content_type)
            submitted[response["task_id"]] = path
        if not wait:
            return [(p.name, "queued", f"task {t}") for t, p in submitted.items()]
        return await _watch(client, submitted, timeout)


async def _submit(client: httpx.AsyncClient, path: Path, content_type: str) -> dict[str, Any]:
    data = await asyncio.to_thread(path.read_bytes)
    digest = hashlib.sha256(data).hexdigest()[:32]
    while True:
        response = await client.post(
            "/v1/rag/documents",
            files={"file": (path.name, data, content_type)},
            data={"title": path.stem.replace("-", " ")},
            # The same file content is the same task: re-running the command is safe.
            headers={"Idempotency-Key": f"cli:{digest}"},
        )
        if response.status_code == 429:  # back off as told
            await asyncio.sleep(float(response.headers.get("Retry-After", "1")))
            continue
        if response.status_code != 202:
            raise typer.BadParameter(f"{path.name}: {response.status_code} {response.text}")
        body: dict[str, Any] = response.json()
        return body


async def _watch(
    client: httpx.AsyncClient, submitted: dict[str, Path], timeout: float
) -> list[tuple[str, str, str]]:
    final: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + timeout
    columns = (TextColumn("ingesting"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns) as progress:
        bar = progress.add_task("tasks", total=len(submitted))
        while len(final) < len(submitted) and time.monotonic() < deadline:
            for task_id in submitted.keys() - final.keys():
                task = (await client.get(f"/v1/tasks/{task_id}")).json()
                if task.get("status") in TERMINAL:
                    final[task_id] = task
                    progress.advance(bar)
            await asyncio.sleep(0.5)
    rows = []
    for task_id, path in submitted.items():
        task = final.get(task_id, {"status": "timeout"})
        error = (task.get("error") or {}).get("message", "")
        rows.append((path.name, task["status"], error or f"task {task_id}"))
    return rows


@app.command("cancel")
def cancel(
    task_id: str,
    api_key: str = typer.Option(..., envvar="TRADEBUS_API_KEY", help="tenant API key"),
    url: str = typer.Option("http://127.0.0.1:8000", envvar="TRADEBUS_GATEWAY_URL"),
) -> None:
    """Cancel a task (POST /v1/tasks/{id}/cancel): its unprocessed work is skipped."""
    response = _call("POST", f"/v1/tasks/{task_id}/cancel", url, api_key)
    typer.echo(f"{task_id} {response.json()['status']}")


@app.command("delete")
def delete(
    task_id: str,
    api_key: str = typer.Option(..., envvar="TRADEBUS_API_KEY", help="tenant API key"),
    url: str = typer.Option("http://127.0.0.1:8000", envvar="TRADEBUS_GATEWAY_URL"),
) -> None:
    """Delete an ended task and its result (DELETE /v1/tasks/{id}); a live task is
    refused: cancel it first."""
    _call("DELETE", f"/v1/tasks/{task_id}", url, api_key)
    typer.echo(f"{task_id} deleted")


def _call(method: str, path: str, url: str, api_key: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {api_key}"}
    response = httpx.request(method, url.rstrip("/") + path, headers=headers, timeout=30)
    if response.is_success:
        return response
    try:
        message = response.json().get("message", response.text)
    except ValueError:
        message = response.text
    typer.echo(f"{response.status_code}: {message}", err=True)
    raise typer.Exit(1)


def main() -> None:
    app()


if __name__ == "__main__":
    main()

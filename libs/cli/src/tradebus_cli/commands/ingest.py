"""`tradebus ingest FOLDER`: upload documents with a tenant key and follow their tasks."""

from __future__ import annotations

import hashlib
import mimetypes
import time
from pathlib import Path
from typing import Any, Protocol

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ..client import ApiClient
from ..errors import CliError, reported
from ..output import emit_json, show
from ..session import session

SUFFIXES = {".txt", ".md", ".markdown", ".html", ".htm", ".pdf"}
TERMINAL = {"succeeded", "failed", "cancelled"}


class Submitter(Protocol):
    def submit(self, path: Path) -> str:
        """Submit one document; its task id."""


class DocumentSubmitter:
    """One POST /v1/rag/documents per file. A batch route (POST /v1/rag/batches: many
    documents, one parent task) would be a second Submitter chosen in `ingest`."""

    def __init__(self, api: ApiClient) -> None:
        self._api = api

    def submit(self, path: Path) -> str:
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()[:32]
        body = self._api.call(
            "POST",
            "/v1/rag/documents",
            files={"file": (path.name, data, content_type(path))},
            data={"title": path.stem.replace("-", " ")},
            # The same content is the same task: re-running the command is safe.
            headers={"Idempotency-Key": f"cli:{digest}"},
            retry_429=True,
        )
        return str(body["task_id"])


def content_type(path: Path) -> str:
    if path.suffix.lower() in (".md", ".markdown"):
        return "text/markdown"
    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def documents(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES)


def follow(
    api: ApiClient, task_ids: set[str], timeout: float, poll: float
) -> dict[str, dict[str, Any]]:
    """Poll every task until it ends or `timeout` passes, with a progress bar on stderr
    (stdout stays for the result)."""
    final: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + timeout
    columns = (TextColumn("ingesting"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True)) as progress:
        bar = progress.add_task("tasks", total=len(task_ids))
        while len(final) < len(task_ids) and time.monotonic() < deadline:
            for task_id in sorted(task_ids - final.keys()):
                task = api.get(f"/v1/tasks/{task_id}")
                if task.get("status") in TERMINAL:
                    final[task_id] = task
                    progress.advance(bar)
            if len(final) < len(task_ids):
                time.sleep(poll)
    return final


@reported
def ingest(
    ctx: typer.Context,
    folder: Path = typer.Argument(..., exists=True, file_okay=False, help="documents to ingest"),
    timeout: float = typer.Option(600, help="seconds to wait for every task to finish"),
    wait: bool = typer.Option(True, help="wait until every task has finished"),
    poll: float = typer.Option(0.5, help="seconds between status checks", min=0.05),
    as_json: bool = typer.Option(False, "--json", help="machine-readable output"),
) -> None:
    """Upload every txt/md/html/pdf file in FOLDER (tenant key) and follow the tasks."""
    files = documents(folder)
    if not files:
        raise CliError(f"no txt/md/html/pdf files in {folder}")
    s = session(ctx)
    with s.client() as api:
        submitter: Submitter = DocumentSubmitter(api)
        # Identical files are one task (the idempotency key): list each file anyway.
        submitted = [(path, submitter.submit(path)) for path in files]
        final = follow(api, {t for _, t in submitted}, timeout, poll) if wait else {}
    rows = []
    for path, task_id in submitted:
        task = final.get(task_id) or {"status": "timeout" if wait else "queued"}
        error = task.get("error") or {}
        rows.append(
            {
                "file": path.name,
                "task_id": task_id,
                "status": task["status"],
                "error": error or None,
            }
        )
    if as_json:
        emit_json({"items": rows})
    else:
        show(
            f"ingested {folder}",
            ("file", "task", "status", "error"),
            ((r["file"], r["task_id"], r["status"], error_text(r["error"])) for r in rows),
        )
    if any(r["status"] not in ("succeeded", "queued") for r in rows):
        raise typer.Exit(1)


def error_text(error: dict[str, Any] | None) -> str:
    if not error:
        return ""
    return f"{error.get('code', '')}: {error.get('message', '')}"

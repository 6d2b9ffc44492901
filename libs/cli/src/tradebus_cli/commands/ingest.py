"""`tradebus ingest FOLDER`: upload documents in batches with a tenant key and follow
them. Each batch is one `POST /v1/rag/batches` (at most `--batch-size` files, within the
gateway's own limits); a file that cannot be read or is refused is reported on its own,
and the rest are still submitted."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from ..errors import CliError, reported
from ..ingest_follow import TERMINAL, children, follow
from ..ingest_plan import FileError, documents, plan
from ..ingest_submit import Accepted, BatchSubmitter, Submitted, Submitter, limits_of
from ..output import emit_json, show
from ..session import session


class Priority(StrEnum):
    HIGH = "high"
    NORMAL = "normal"
    BULK = "bulk"


@reported
def ingest(
    ctx: typer.Context,
    folder: Path = typer.Argument(..., exists=True, file_okay=False, help="documents to ingest"),
    timeout: float = typer.Option(600, help="seconds to wait for every task to finish"),
    wait: bool = typer.Option(True, help="wait until every task has finished"),
    poll: float = typer.Option(0.5, help="seconds between status checks", min=0.05),
    priority: Priority = typer.Option(
        Priority.NORMAL, help="high, normal or bulk: the batches' share of the ingest workers"
    ),
    batch_size: int | None = typer.Option(
        None,
        min=1,
        help="files per batch (env TRADEBUS_CLI_BATCH_SIZE), at most the gateway's limit",
    ),
    as_json: bool = typer.Option(False, "--json", help="machine-readable output"),
) -> None:
    """Upload every txt/md/html/pdf file in FOLDER (tenant key) and follow the tasks."""
    paths = documents(folder)
    if not paths:
        raise CliError(f"no txt/md/html/pdf files in {folder}")
    s = session(ctx)
    with s.client() as api:
        planned = plan(
            paths, limits_of(api, s.settings.batch_size), batch_size or s.settings.batch_size
        )
        submitter: Submitter = BatchSubmitter(api, priority.value)
        submitted = Submitted(errors=list(planned.errors))
        for batch in planned.batches:
            submitted.add(submitter.submit(batch))
        for error in submitted.errors:
            typer.echo(f"error: {error.path.name}: {error.code}: {error.message}", err=True)
        parents: dict[str, dict[str, Any]] = {}
        tasks: dict[str, dict[str, Any]] = {}
        if wait and submitted.batches:
            parents = follow(api, submitted.batches, timeout, poll)
            for accepted in submitted.batches:
                tasks.update(children(api, accepted.task_id))
    rows = _rows(paths, planned.same_as, submitted, tasks, wait)
    if as_json:
        emit_json({"items": rows, "batches": _batches(submitted.batches, parents)})
    else:
        show(
            f"ingested {folder}",
            ("file", "task", "batch", "status", "error"),
            (
                (r["file"], r["task_id"], r["batch_id"], r["status"], error_text(r["error"]))
                for r in rows
            ),
        )
    if any(r["status"] not in ("succeeded", "queued") for r in rows):
        raise typer.Exit(1)


def _rows(
    paths: list[Path],
    same_as: dict[Path, Path],
    submitted: Submitted,
    tasks: dict[str, dict[str, Any]],
    waited: bool,
) -> list[dict[str, Any]]:
    """One per file, in the folder's order; a duplicate shares its original's task."""
    errors: dict[Path, FileError] = {e.path: e for e in submitted.errors}
    where: dict[Path, tuple[str, str]] = {
        path: (task_id, batch.task_id)
        for batch in submitted.batches
        for path, task_id in batch.files.items()
    }
    rows = []
    for path in paths:
        source = same_as.get(path, path)
        if source in errors:
            error = errors[source]
            rows.append(
                {
                    "file": path.name,
                    "task_id": None,
                    "batch_id": None,
                    "status": "refused",
                    "error": {"code": error.code, "message": error.message},
                }
            )
            continue
        task_id, batch_id = where[source]
        task = tasks.get(task_id) or {}
        status = str(task.get("status", "queued")) if waited else "queued"
        if waited and status not in TERMINAL:
            status = "timeout"
        rows.append(
            {
                "file": path.name,
                "task_id": task_id,
                "batch_id": batch_id,
                "status": status,
                "error": task.get("error") or None,
            }
        )
    return rows


def _batches(batches: list[Accepted], parents: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "task_id": b.task_id,
            "documents": len(b.files),
            "status": parents.get(b.task_id, {}).get("status", b.status),
        }
        for b in batches
    ]


def error_text(error: dict[str, Any] | None) -> str:
    if not error:
        return ""
    return f"{error.get('code', '')}: {error.get('message', '')}"

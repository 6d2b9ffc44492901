"""Following submitted batches: one progress bar over what their parents report
(`GET /v1/tasks/{id}`: the children counted by status), then each document's own task
from the batch's children (`GET /v1/tasks?parent={id}`), for the per-file outcome."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from .client import ApiClient
from .ingest_submit import Accepted

TERMINAL = {"succeeded", "failed", "cancelled"}
PAGE = 200  # the task listing's largest page


def done_of(parent: dict[str, Any]) -> int:
    """Children that ended, by the batch's counts (its progress while those are absent)."""
    counts = parent.get("batch")
    if isinstance(counts, dict) and "total" in counts:
        unfinished = sum(int(counts.get(s, 0)) for s in ("queued", "running", "retrying"))
        return max(0, int(counts["total"]) - unfinished)
    return int((parent.get("progress") or {}).get("done") or 0)


def follow(
    api: ApiClient,
    batches: Sequence[Accepted],
    timeout: float,
    poll: float,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, dict[str, Any]]:
    """Poll every batch until it ends or `timeout` passes, with a progress bar on stderr
    (stdout stays for the result); the parents as last read, by id."""
    parents: dict[str, dict[str, Any]] = {b.task_id: {"status": b.status} for b in batches}
    deadline = time.monotonic() + timeout
    columns = (TextColumn("ingesting"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True)) as progress:
        bar = progress.add_task("documents", total=sum(len(b.files) for b in batches))
        while True:
            for task_id, parent in parents.items():
                if parent.get("status") not in TERMINAL:
                    parents[task_id] = api.get(f"/v1/tasks/{task_id}")
            progress.update(bar, completed=sum(done_of(p) for p in parents.values()))
            if all(p.get("status") in TERMINAL for p in parents.values()):
                break
            if time.monotonic() >= deadline:
                break
            sleep(poll)
    return parents


def children(api: ApiClient, batch_id: str) -> dict[str, dict[str, Any]]:
    """Every document task of the batch, by id."""
    found: dict[str, dict[str, Any]] = {}
    cursor: str | None = None
    while True:
        page = api.get("/v1/tasks", {"parent": batch_id, "limit": PAGE, "cursor": cursor})
        found.update({str(t["id"]): t for t in page.get("items", [])})
        cursor = page.get("next_cursor")
        if not cursor:
            return found

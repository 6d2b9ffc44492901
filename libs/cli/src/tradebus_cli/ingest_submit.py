"""Sending a planned batch: one `POST /v1/rag/batches` (multipart, one part per file).

The gateway refuses a batch as a whole when any file in it is refused (413, 415, 422):
the batch is then halved and each half sent, down to the file at fault, which becomes
that file's error while the rest are still submitted. A batch the tenant's admission
share cannot take (429 again and again) is halved too; a single file waits its turn."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .client import ApiClient
from .errors import ApiError
from .ingest_plan import FileError, Limits, LocalFile, batch_key

REFUSED = {413, 415, 422}
# 429s waited out for one batch before it is halved (a smaller one may fit the share).
WAITS_BEFORE_HALVING = 3


@dataclass(frozen=True, slots=True)
class Accepted:
    task_id: str  # the batch's
    status: str
    files: dict[Path, str]  # each file's own task id


@dataclass
class Submitted:
    batches: list[Accepted] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)

    def add(self, other: Submitted) -> None:
        self.batches += other.batches
        self.errors += other.errors


class Submitter(Protocol):
    def submit(self, files: Sequence[LocalFile]) -> Submitted:
        """Submit the files; every one ends accepted (in a batch) or with an error."""


class BatchSubmitter:
    def __init__(
        self,
        api: ApiClient,
        priority: str,
        sleep: Any = time.sleep,  # tests do not wait out Retry-After
    ) -> None:
        self._api, self._priority, self._sleep = api, priority, sleep

    def submit(self, files: Sequence[LocalFile]) -> Submitted:
        parts: list[tuple[LocalFile, bytes]] = []
        out = Submitted()
        for file in files:
            try:
                parts.append((file, file.path.read_bytes()))
            except OSError as exc:
                message = f"cannot read {file.path.name}: {exc.strerror or exc}"
                out.errors.append(FileError(file.path, "unreadable", message))
        if parts:
            out.add(self._send(parts))
        return out

    def _send(self, parts: list[tuple[LocalFile, bytes]]) -> Submitted:
        waits = 0
        while True:
            try:
                return Submitted(batches=[self._post(parts)])
            except ApiError as exc:
                if exc.status == 429 and (len(parts) == 1 or waits < WAITS_BEFORE_HALVING):
                    waits += 1
                    self._sleep(exc.retry_after if exc.retry_after is not None else 1.0)
                    continue
                if exc.status not in REFUSED | {429}:
                    raise
                if len(parts) == 1:
                    file = parts[0][0]
                    return Submitted(errors=[FileError(file.path, exc.code, exc.message)])
            half = len(parts) // 2
            out = self._send(parts[:half])
            out.add(self._send(parts[half:]))
            return out

    def _post(self, parts: list[tuple[LocalFile, bytes]]) -> Accepted:
        files = [p[0] for p in parts]
        body = self._api.call(
            "POST",
            "/v1/rag/batches",
            files=[("file", (f.path.name, data, f.content_type)) for f, data in parts],
            data={
                "documents": json.dumps([{"title": f.title} for f in files]),
                "priority": self._priority,
            },
            # The same files are the same batch: re-running the command is safe.
            headers={"Idempotency-Key": batch_key(files, self._priority)},
        )
        children = [str(d["task_id"]) for d in body["documents"]]
        return Accepted(
            task_id=str(body["task_id"]),
            status=str(body["status"]),
            files={f.path: task_id for f, task_id in zip(files, children, strict=True)},
        )


def limits_of(api: ApiClient, batch_size: int) -> Limits:
    """The gateway's batch limits, from its OpenAPI document; without them, `batch_size`
    and whatever the gateway refuses (halving finds the bound)."""
    try:
        document = api.get("/openapi.json")
        stated = document["paths"]["/v1/rag/batches"]["post"]["x-limits"]
        return Limits(
            max_batch_documents=int(stated["max_batch_documents"]),
            max_batch_bytes=int(stated["max_batch_bytes"]),
            max_upload_bytes=int(stated["max_upload_bytes"]),
        )
    except (ApiError, KeyError, TypeError, ValueError):
        return Limits(max_batch_documents=batch_size)

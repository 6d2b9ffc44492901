"""What `tradebus ingest` sends, decided before anything is sent (pure but for reading
the files): each document file read and checked against the gateway's per-document
limit, identical contents submitted once, then the rest in batches bounded by count and
bytes. A file that cannot be sent is an error of its own; the others still go."""

from __future__ import annotations

import hashlib
import mimetypes
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

SUFFIXES = {".txt", ".md", ".markdown", ".html", ".htm", ".pdf"}
TITLE_MAX_CHARS = 500
# Room a multipart part takes around a file (boundary, headers) and its `documents`
# entry, counted against the batch's bytes with the file itself.
PART_OVERHEAD_BYTES = 512


@dataclass(frozen=True, slots=True)
class Limits:
    """The gateway's (its OpenAPI's `x-limits`); None where it did not say."""

    max_batch_documents: int
    max_batch_bytes: int | None = None
    max_upload_bytes: int | None = None


@dataclass(frozen=True, slots=True)
class LocalFile:
    path: Path
    size: int
    digest: str  # of the content: the same content is one document

    @property
    def title(self) -> str:
        return self.path.stem.replace("-", " ")[:TITLE_MAX_CHARS] or self.path.name

    @property
    def content_type(self) -> str:
        return content_type(self.path)

    @property
    def weight(self) -> int:
        return self.size + len(self.path.name.encode()) + len(self.title) + PART_OVERHEAD_BYTES


@dataclass(frozen=True, slots=True)
class FileError:
    path: Path
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Plan:
    batches: list[list[LocalFile]]
    errors: list[FileError]
    same_as: dict[Path, Path]  # a duplicate's path -> the path submitted for it


def content_type(path: Path) -> str:
    if path.suffix.lower() in (".md", ".markdown"):
        return "text/markdown"
    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def documents(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES)


def inspect(path: Path, limits: Limits) -> LocalFile | FileError:
    try:
        data = path.read_bytes()
    except OSError as exc:
        return FileError(path, "unreadable", f"cannot read {path.name}: {exc.strerror or exc}")
    if not data:
        return FileError(path, "empty", f"{path.name} is empty")
    if limits.max_upload_bytes is not None and len(data) > limits.max_upload_bytes:
        return FileError(
            path,
            "too_large",
            f"{path.name} has {len(data)} bytes; the gateway takes at most "
            f"{limits.max_upload_bytes} per document",
        )
    return LocalFile(path, len(data), hashlib.sha256(data).hexdigest())


def plan(paths: Iterable[Path], limits: Limits, batch_size: int) -> Plan:
    files: list[LocalFile] = []
    errors: list[FileError] = []
    first: dict[str, Path] = {}
    same_as: dict[Path, Path] = {}
    for path in paths:
        inspected = inspect(path, limits)
        if isinstance(inspected, FileError):
            errors.append(inspected)
        elif inspected.digest in first:
            same_as[path] = first[inspected.digest]
        else:
            first[inspected.digest] = path
            files.append(inspected)
    size = max(1, min(batch_size, limits.max_batch_documents))
    return Plan(list(chunks(files, size, limits.max_batch_bytes)), errors, same_as)


def chunks(
    files: Sequence[LocalFile], max_documents: int, max_bytes: int | None
) -> Iterator[list[LocalFile]]:
    """In order; a new batch when the next file would pass either bound (a file alone
    past the bytes is a batch of its own: the gateway judges it)."""
    batch: list[LocalFile] = []
    weight = 0
    for file in files:
        full = len(batch) >= max_documents
        heavy = max_bytes is not None and batch and weight + file.weight > max_bytes
        if full or heavy:
            yield batch
            batch, weight = [], 0
        batch.append(file)
        weight += file.weight
    if batch:
        yield batch


def batch_key(files: Sequence[LocalFile], priority: str) -> str:
    """The same files at the same priority are the same batch: re-running is safe."""
    digest = hashlib.sha256(priority.encode())
    for file in files:
        digest.update(f"\0{file.path.name}\0{file.digest}".encode())
    return f"cli-batch:{digest.hexdigest()[:40]}"

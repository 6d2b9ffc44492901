"""`tradebus ingest`: files planned into batches (count and bytes within the gateway's
stated limits, identical contents once), one `POST /v1/rag/batches` each, a refused
file found by halving and reported alone while the rest go, progress over the parents,
each file's outcome from the batch's children."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from tradebus_cli.ingest_plan import Limits, LocalFile, batch_key, chunks, plan

from .fakes import FakeGateway, error, invoke, ok

LIMITS = {"max_batch_documents": 100, "max_batch_bytes": 10_000, "max_upload_bytes": 1_000}


def openapi(**limits: int) -> httpx.Response:
    stated = {**LIMITS, **limits}
    return ok(paths={"/v1/rag/batches": {"post": {"x-limits": stated}}})


def filenames(request: httpx.Request) -> list[str]:
    return re.findall(r'name="file"; filename="([^"]+)"', request.content.decode(errors="replace"))


def field(request: httpx.Request, name: str) -> str:
    found = re.search(
        rf'name="{name}"\r\n\r\n(.*?)\r\n--', request.content.decode(errors="replace"), re.S
    )
    assert found, name
    return found.group(1)


class Batches:
    """The batch route and the task routes over what it accepted: every child ends as
    `outcome(filename)` says, one poll after it was submitted."""

    def __init__(self, gateway: FakeGateway, refuse: set[str] | None = None) -> None:
        self.refuse = refuse or set()
        self.children: dict[str, dict[str, Any]] = {}  # task id -> task
        self.parents: dict[str, list[str]] = {}
        self.polls: dict[str, int] = {}
        gateway.on("POST", "/v1/rag/batches", self.post)
        gateway.on("GET", "/v1/tasks", self.listing)

    def post(self, request: httpx.Request) -> httpx.Response:
        names = filenames(request)
        refused = [i for i, n in enumerate(names) if n in self.refuse]
        if refused:
            return error(415, "unsupported_type", f"file {refused[0]}: not a document")
        parent = f"batch{len(self.parents)}"
        ids = [f"{parent}-{n}" for n in names]
        self.parents[parent] = ids
        for task_id, name in zip(ids, names, strict=True):
            failed = name.startswith("bad")
            self.children[task_id] = {
                "id": task_id,
                "status": "failed" if failed else "succeeded",
                "error": {"code": "corrupt_document", "message": "bad"} if failed else None,
            }
        documents = [{"task_id": t, "document_id": "d-" + t} for t in ids]
        return ok(202, task_id=parent, status="queued", created=True, documents=documents)

    def parent(self, request: httpx.Request) -> httpx.Response:
        task_id = request.url.path.rsplit("/", 1)[1]
        ids = self.parents[task_id]
        self.polls[task_id] = self.polls.get(task_id, 0) + 1
        if self.polls[task_id] == 1:
            counts = {"total": len(ids), "queued": len(ids)}
            return ok(id=task_id, status="queued", batch=counts)
        failed = sum(self.children[t]["status"] == "failed" for t in ids)
        counts = {"total": len(ids), "succeeded": len(ids) - failed, "failed": failed}
        return ok(id=task_id, status="failed" if failed else "succeeded", batch=counts)

    def listing(self, request: httpx.Request) -> httpx.Response:
        ids = self.parents[request.url.params["parent"]]
        return ok(items=[self.children[t] for t in ids], next_cursor=None)


def gateway_with_batches(refuse: set[str] | None = None, **limits: int) -> tuple[Any, Batches]:
    gateway = FakeGateway()
    gateway.on("GET", "/openapi.json", openapi(**limits))
    batches = Batches(gateway, refuse)
    original = gateway.handle

    def handle(request: httpx.Request) -> httpx.Response:
        if request.method == "GET" and request.url.path.startswith("/v1/tasks/batch"):
            gateway.requests.append(request)
            return batches.parent(request)
        return original(request)

    gateway.handle = handle  # type: ignore[method-assign]
    return gateway, batches


def posts(gateway: FakeGateway) -> list[httpx.Request]:
    return [r for r in gateway.requests if r.method == "POST"]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for name in ("a-note.md", "b.txt", "c.txt", "d.html", "e.txt"):
        (tmp_path / name).write_text(f"{name}: FOB terms")
    (tmp_path / "ignored.bin").write_bytes(b"\0")
    return tmp_path


def test_files_go_in_batches_with_one_priority_and_are_followed(folder: Path) -> None:
    gateway, batches = gateway_with_batches()
    result = invoke(
        gateway,
        "ingest",
        str(folder),
        "--batch-size",
        "2",
        "--priority",
        "bulk",
        "--poll",
        "0.05",
        "--json",
        key="tb_t",
    )
    assert result.exit_code == 0, result.output
    sent = posts(gateway)
    assert [filenames(r) for r in sent] == [
        ["a-note.md", "b.txt"],
        ["c.txt", "d.html"],
        ["e.txt"],
    ]
    assert {field(r, "priority") for r in sent} == {"bulk"}
    assert json.loads(field(sent[0], "documents")) == [{"title": "a note"}, {"title": "b"}]
    assert b"text/markdown" in sent[0].content
    keys = [r.headers["idempotency-key"] for r in sent]
    assert all(k.startswith("cli-batch:") for k in keys) and len(set(keys)) == 3
    out = json.loads(result.stdout)
    assert out["batches"] == [
        {"task_id": "batch0", "documents": 2, "status": "succeeded"},
        {"task_id": "batch1", "documents": 2, "status": "succeeded"},
        {"task_id": "batch2", "documents": 1, "status": "succeeded"},
    ]
    assert out["items"][0] == {
        "file": "a-note.md",
        "task_id": "batch0-a-note.md",
        "batch_id": "batch0",
        "status": "succeeded",
        "error": None,
    }
    assert [r["status"] for r in out["items"]] == ["succeeded"] * 5
    assert "ingesting" in result.stderr  # the progress bar stays off stdout
    assert batches.polls == {"batch0": 2, "batch1": 2, "batch2": 2}  # until each ended


def test_the_gateways_limit_bounds_the_batch_and_a_failed_document_is_exit_1(
    folder: Path,
) -> None:
    (folder / "bad.txt").write_text("corrupt")
    gateway, _ = gateway_with_batches(max_batch_documents=4)
    result = invoke(gateway, "ingest", str(folder), "--poll", "0.05", "--json", key="tb_t")
    assert result.exit_code == 1
    assert [len(filenames(r)) for r in posts(gateway)] == [4, 2]  # 6 files, at most 4
    bad = next(r for r in json.loads(result.stdout)["items"] if r["file"] == "bad.txt")
    assert bad["status"] == "failed" and bad["error"]["code"] == "corrupt_document"


def test_a_refused_file_is_its_own_error_and_the_rest_are_submitted(folder: Path) -> None:
    gateway, _ = gateway_with_batches(refuse={"c.txt"})
    result = invoke(gateway, "ingest", str(folder), "--poll", "0.05", "--json", key="tb_t")
    assert result.exit_code == 1
    items = {r["file"]: r for r in json.loads(result.stdout)["items"]}
    assert items["c.txt"]["status"] == "refused" and items["c.txt"]["task_id"] is None
    assert items["c.txt"]["error"]["code"] == "unsupported_type"
    assert {n: r["status"] for n, r in items.items() if n != "c.txt"} == dict.fromkeys(
        ["a-note.md", "b.txt", "d.html", "e.txt"], "succeeded"
    )
    accepted = [filenames(r) for r in posts(gateway)[1:] if "c.txt" not in filenames(r)]
    assert sorted(n for names in accepted for n in names) == [
        "a-note.md",
        "b.txt",
        "d.html",
        "e.txt",
    ]
    assert "error: c.txt: unsupported_type: file 0: not a document" in result.stderr


def test_unreadable_empty_and_oversized_files_are_errors_before_anything_is_sent(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (folder / "big.txt").write_bytes(b"x" * 1_001)
    (folder / "empty.txt").write_bytes(b"")
    (folder / "locked.txt").write_text("secret")
    read_bytes = Path.read_bytes

    def guarded(path: Path) -> bytes:
        if path.name == "locked.txt":
            raise PermissionError(13, "Permission denied")
        return read_bytes(path)

    monkeypatch.setattr(Path, "read_bytes", guarded)
    gateway, _ = gateway_with_batches()
    result = invoke(gateway, "ingest", str(folder), "--no-wait", "--json", key="tb_t")
    assert result.exit_code == 1
    items = {r["file"]: r for r in json.loads(result.stdout)["items"]}
    assert {n: r["error"]["code"] for n, r in items.items() if r["error"]} == {
        "big.txt": "too_large",
        "empty.txt": "empty",
        "locked.txt": "unreadable",
    }
    assert "Permission denied" in items["locked.txt"]["error"]["message"]
    assert [filenames(r) for r in posts(gateway)] == [
        ["a-note.md", "b.txt", "c.txt", "d.html", "e.txt"]
    ]
    assert {r["status"] for n, r in items.items() if not r["error"]} == {"queued"}
    assert result.stderr.count("error: ") == 3


def test_identical_files_are_one_document(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("same")
    (tmp_path / "b.txt").write_text("same")
    gateway, _ = gateway_with_batches()
    result = invoke(gateway, "ingest", str(tmp_path), "--no-wait", "--json", key="tb_t")
    assert result.exit_code == 0, result.output
    assert [filenames(r) for r in posts(gateway)] == [["a.txt"]]
    items = json.loads(result.stdout)["items"]
    assert items[0]["task_id"] == items[1]["task_id"] == "batch0-a.txt"


def test_a_batch_over_the_tenants_share_is_halved_after_waiting(tmp_path: Path) -> None:
    for name in "abcd":
        (tmp_path / f"{name}.txt").write_text(name)
    gateway, batches = gateway_with_batches()
    full = httpx.Response(429, headers={"Retry-After": "0"}, json={"code": "overloaded"})

    def share_of_two(request: httpx.Request) -> httpx.Response:
        return full if len(filenames(request)) > 2 else batches.post(request)

    gateway.on("POST", "/v1/rag/batches", share_of_two)
    result = invoke(gateway, "ingest", str(tmp_path), "--no-wait", "--json", key="tb_t")
    assert result.exit_code == 0, result.output
    assert [len(filenames(r)) for r in posts(gateway)] == [4, 4, 4, 4, 2, 2]


def test_without_the_gateways_limits_the_batch_size_is_the_setting(tmp_path: Path) -> None:
    for name in "abc":
        (tmp_path / f"{name}.txt").write_text(name)
    gateway, _ = gateway_with_batches()
    gateway.on("GET", "/openapi.json", error(404, "not_found", "no OpenAPI here"))
    result = invoke(gateway, "ingest", str(tmp_path), "--no-wait", "--batch-size", "2", key="tb_t")
    assert result.exit_code == 0 and result.stdout.count("queued") == 3
    assert [len(filenames(r)) for r in posts(gateway)] == [2, 1]


def test_an_empty_folder_and_an_unknown_priority(tmp_path: Path) -> None:
    gateway, _ = gateway_with_batches()
    nothing = invoke(gateway, "ingest", str(tmp_path), key="tb_t")
    assert nothing.exit_code == 1 and "no txt/md/html/pdf files" in nothing.stderr
    (tmp_path / "a.txt").write_text("a")
    unknown = invoke(gateway, "ingest", str(tmp_path), "--priority", "urgent", key="tb_t")
    assert unknown.exit_code == 2 and not posts(gateway)


def test_batches_are_bounded_by_bytes_and_keyed_by_content(tmp_path: Path) -> None:
    files = [LocalFile(tmp_path / f"{i}.txt", 400, f"d{i}") for i in range(5)]
    weight = files[0].weight
    assert [len(c) for c in chunks(files, 10, 2 * weight)] == [2, 2, 1]
    assert [len(c) for c in chunks(files, 2, None)] == [2, 2, 1]
    assert [len(c) for c in chunks(files[:1], 10, 10)] == [1]  # alone: the gateway judges
    assert batch_key(files[:2], "high") == batch_key(list(files[:2]), "high")
    assert batch_key(files[:2], "high") != batch_key(files[:2], "bulk")
    assert batch_key(files[:2], "high") != batch_key(files[1:3], "high")
    (tmp_path / "x.txt").write_text("x")
    planned = plan([tmp_path / "x.txt"], Limits(max_batch_documents=1), batch_size=50)
    assert [len(b) for b in planned.batches] == [1] and not planned.errors

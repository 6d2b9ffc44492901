"""The parser sandbox: bombs, hangs and crashes fail their document, not the worker."""

from __future__ import annotations

import asyncio
import io
import os
import time
from pathlib import Path

import pytest
from pypdf import PdfWriter

from tests.unit.ingest import sandbox_work
from tradebus_omnirag_ingest.adapters import ParserSandbox
from tradebus_omnirag_ingest.adapters.parsers import Work, extract
from tradebus_omnirag_ingest.domain import ChunkingPolicy, ParseLimits
from tradebus_omnirag_ingest.errors import DocumentRejected

DOCS = Path(__file__).resolve().parents[3] / "samples" / "documents"
LIMITS = ParseLimits(
    timeout_seconds=5, memory_mb=256, max_pages=50, max_text_chars=200_000, max_markup_tags=50_000
)
POLICY = ChunkingPolicy(max_tokens=128, overlap_tokens=16, batch_size=8, max_chunks=500)
BOMB = b"<p>" * (1024 * 1024)  # 3 MB of paragraphs: a tree of gigabytes


def sandbox(
    work: Work = extract,
    limits: ParseLimits = LIMITS,
    policy: ChunkingPolicy = POLICY,
    start_method: str = "forkserver",
) -> ParserSandbox:
    return ParserSandbox(limits, policy, work=work, start_method=start_method)


def resident_mb() -> float:
    with open("/proc/self/status") as status:
        line = next(x for x in status if x.startswith("VmRSS"))
    return int(line.split()[1]) / 1024


async def rejected(box: ParserSandbox, data: bytes, fmt: str) -> DocumentRejected:
    with pytest.raises(DocumentRejected) as caught:
        await box.extract(data, fmt)
    return caught.value


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("export-control-faq.html", "html"),
        ("incoterms-2020-overview.md", "md"),
        ("supplier-onboarding-checklist.txt", "txt"),
        ("letter-of-credit-guide.pdf", "pdf"),
    ],
)
async def test_normal_documents_parse_as_they_do_in_process(name: str, fmt: str) -> None:
    data = (DOCS / name).read_bytes()
    chunks = await sandbox().extract(data, fmt)
    assert chunks and chunks == extract(data, fmt, LIMITS, POLICY)
    assert [c.index for c in chunks] == list(range(len(chunks)))


async def test_a_paragraph_bomb_fails_fast_as_too_complex_and_the_worker_stays_small() -> None:
    box = sandbox()
    await box.extract(b"warm up the forkserver", "txt")
    before = resident_mb()
    started = time.monotonic()
    error = await rejected(box, BOMB, "html")
    elapsed = time.monotonic() - started
    assert error.code == "too_complex" and str(error).startswith("too_complex: ")
    assert elapsed < 3
    assert resident_mb() - before < 50


async def test_a_bomb_past_the_tag_bound_meets_the_memory_or_time_limit() -> None:
    """Even with the cheap tag bound out of the way, the child's limits stop it."""
    limits = ParseLimits(
        timeout_seconds=5, memory_mb=256, max_pages=50, max_text_chars=10**9, max_markup_tags=10**9
    )
    box = sandbox(limits=limits)
    await box.extract(b"warm up", "txt")
    before = resident_mb()
    started = time.monotonic()
    error = await rejected(box, BOMB, "html")
    assert error.code in ("too_complex", "timeout")
    assert time.monotonic() - started < limits.timeout_seconds + 3
    assert resident_mb() - before < 50


async def test_a_child_growing_without_bound_is_stopped_as_too_complex() -> None:
    box = sandbox(sandbox_work.hog)
    before = resident_mb()
    error = await rejected(box, b"", "txt")
    assert error.code == "too_complex" and "256 MB" in str(error)
    assert resident_mb() - before < 50


async def test_an_allocation_over_the_memory_limit_is_too_complex() -> None:
    error = await rejected(sandbox(sandbox_work.one_big_allocation), b"", "txt")
    assert error.code == "too_complex"


async def test_a_spinning_parser_times_out() -> None:
    limits = ParseLimits(timeout_seconds=1, memory_mb=256, max_pages=5, max_text_chars=100)
    started = time.monotonic()
    error = await rejected(sandbox(sandbox_work.spin, limits), b"", "txt")
    assert error.code == "timeout" and time.monotonic() - started < 3


async def test_a_parser_stuck_without_using_cpu_times_out_on_the_wall_clock() -> None:
    limits = ParseLimits(timeout_seconds=1, memory_mb=256, max_pages=5, max_text_chars=100)
    error = await rejected(sandbox(sandbox_work.sleep, limits), b"", "txt")
    assert error.code == "timeout"


async def test_a_cancelled_parse_does_not_leave_its_child_behind(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    task = asyncio.create_task(
        sandbox(sandbox_work.sleep_telling_pid).extract(str(pid_file).encode(), "txt")
    )
    while not pid_file.exists() or not pid_file.read_text():
        await asyncio.sleep(0.02)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    pid = int(pid_file.read_text())
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"parser child {pid} still alive after its task was cancelled")


@pytest.mark.parametrize("work", [sandbox_work.exit_hard, sandbox_work.segfault])
async def test_a_child_that_dies_is_a_clean_failure(work: Work) -> None:
    box = sandbox(work)
    error = await rejected(box, b"", "txt")
    assert error.code == "parser_crashed" and "exit code" in str(error)
    # The sandbox is not broken by it: the next document parses.
    assert await sandbox().extract(b"Still here. Parsing goes on.", "txt")


def pdf_with_pages(count: int) -> bytes:
    writer = PdfWriter()
    for _ in range(count):
        writer.add_blank_page(width=72, height=72)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


async def test_a_pdf_with_too_many_pages_is_refused_before_reading_them() -> None:
    error = await rejected(sandbox(), pdf_with_pages(LIMITS.max_pages + 1), "pdf")
    assert error.code == "too_complex" and "pages" in str(error)


async def test_text_and_chunk_counts_are_bounded() -> None:
    words = ("lorem ipsum dolor sit amet. " * 10_000).encode()  # 280k characters
    assert (await rejected(sandbox(), words, "txt")).code == "too_complex"
    many = " ".join(f"Sentence {i} is here." for i in range(8_000)).encode()  # ~170k chars
    few_chunks = ChunkingPolicy(max_tokens=128, overlap_tokens=16, batch_size=8, max_chunks=50)
    error = await rejected(sandbox(policy=few_chunks), many, "txt")
    assert error.code == "too_complex" and "chunks" in str(error)


async def test_corrupt_and_empty_documents_keep_their_codes() -> None:
    corrupt = (DOCS / "corrupt.pdf").read_bytes()
    assert (await rejected(sandbox(), corrupt, "pdf")).code == "corrupt_document"
    assert (await rejected(sandbox(), b"<html><script>x</script></html>", "html")).code == (
        "empty_document"
    )


async def test_the_spawn_start_method_works_too() -> None:
    chunks = await sandbox(start_method="spawn").extract(b"Spawned. Parsed.", "txt")
    assert [c.text for c in chunks] == ["Spawned. Parsed."]

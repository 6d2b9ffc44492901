"""What runs inside the parser sandbox's child process: limits first, then bytes →
normalised text → chunks. The answer goes back over a pipe as plain tuples.

Kept importable without side effects: the forkserver preloads this module, so each
child starts with the parsers already imported."""

from __future__ import annotations

import io
import os
import resource
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from markdown_it import MarkdownIt
from pypdf import PdfReader
from pypdf.errors import PdfReadError, PyPdfError

from tradebus_knowledge import (
    Chunk,
    CorruptDocument,
    UnsupportedFormat,
    decode_text,
    html_to_text,
    normalize,
    parse,
)

from ..domain.chunking import ChunkingPolicy, chunk_document
from ..domain.parsing import CORRUPT, TOO_COMPLEX, UNSUPPORTED, ParseLimits, Unprocessable

Work = Callable[[bytes, str, ParseLimits, ChunkingPolicy], list[Chunk]]

_PAGE = os.sysconf("SC_PAGE_SIZE")
_md = MarkdownIt("commonmark").enable("table")  # as tradebus_knowledge renders Markdown


def apply_limits(limits: ParseLimits) -> None:
    """Memory: `memory_mb` on top of the address space the child starts with (the
    interpreter and preloaded parsers are not the document's fault). CPU: a little past
    the wall-clock limit, so a parse the parent failed to stop still ends (SIGXCPU)."""
    with open("/proc/self/statm") as statm:
        baseline = int(statm.read().split()[0]) * _PAGE
    memory = baseline + limits.memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    cpu = int(limits.timeout_seconds) + 2
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 2))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def extract(data: bytes, fmt: str, limits: ParseLimits, policy: ChunkingPolicy) -> list[Chunk]:
    try:
        if fmt in ("html", "md"):
            raw = _markup(data, fmt, limits)
        elif fmt == "pdf":
            raw = _pdf(data, limits)
        else:
            raw = parse(data, fmt)
    except CorruptDocument as exc:
        raise Unprocessable(CORRUPT, str(exc)) from exc
    except UnsupportedFormat as exc:
        raise Unprocessable(UNSUPPORTED, str(exc)) from exc
    text = normalize(raw)
    limits.check_length(len(text))
    return chunk_document(text, policy)


def _markup(data: bytes, fmt: str, limits: ParseLimits) -> str:
    html = decode_text(data)
    if fmt == "md":
        html = _md.render(html)
    limits.check_markup(html)
    return html_to_text(html)


def _pdf(data: bytes, limits: ParseLimits) -> str:
    """tradebus_knowledge's PDF parse, bounded: pages counted before any is read, text
    counted as it is extracted."""
    if not data.lstrip()[:5].startswith(b"%PDF-"):
        raise CorruptDocument("not a PDF file (no %PDF- header)")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise CorruptDocument("the PDF is encrypted")
        limits.check_pages(len(reader.pages))
        pages: list[str] = []
        size = 0
        for page in reader.pages:
            text = (page.extract_text() or "").strip()
            size += len(text)
            limits.check_length(size)  # stop extracting as soon as the bound is passed
            if text:
                pages.append(text)
    except (CorruptDocument, Unprocessable, MemoryError, RecursionError):
        raise
    except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError, OSError) as exc:
        raise CorruptDocument(f"unreadable PDF: {exc}") from exc
    if not pages:
        raise CorruptDocument("the PDF has no extractable text (scanned images?)")
    return "\n\n".join(pages)


def child_main(
    conn: Connection,
    work: Work,
    data: bytes,
    fmt: str,
    limits: ParseLimits,
    policy: ChunkingPolicy,
) -> None:
    """The child's entry point. Every outcome is an answer on the pipe; only a hard
    death (signal, os._exit) leaves the pipe silent, and the parent reads that too."""
    apply_limits(limits)
    answer: tuple[Any, ...]
    try:
        chunks = work(data, fmt, limits, policy)
        del data
        answer = ("ok", [(c.index, c.text, c.token_count, c.content_hash) for c in chunks])
    except Unprocessable as exc:
        answer = ("rejected", exc.code, str(exc))
    except (MemoryError, RecursionError) as exc:
        answer = ("rejected", TOO_COMPLEX, _too_complex(exc, limits))
    except Exception as exc:  # a parser bug on this input: the document fails, not the worker
        answer = ("rejected", CORRUPT, f"the parser failed: {type(exc).__name__}: {exc}"[:500])
    try:
        conn.send(answer)
    except MemoryError:
        conn.send(("rejected", TOO_COMPLEX, _too_complex(MemoryError(), limits)))
    finally:
        conn.close()


def _too_complex(exc: BaseException, limits: ParseLimits) -> str:
    if isinstance(exc, RecursionError):
        return "the document is nested too deeply to parse"
    return f"parsing the document needed more than {limits.memory_mb} MB of memory"

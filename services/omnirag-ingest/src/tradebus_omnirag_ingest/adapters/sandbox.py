"""The parser sandbox: every document is parsed and chunked in a child process of its
own, under a memory limit (RLIMIT_AS), a CPU limit (RLIMIT_CPU) and a wall-clock limit
(the parent kills it). Whatever the document does, the worker process neither grows nor
dies; the document fails with a `DocumentRejected` (`too_complex`, `timeout`,
`parser_crashed`, ...), a permanent error, so its message is parked, never retried.

One process per document, not a pool: a child that hit a limit is in no state to take
the next document, and a broken pool would fail the documents queued behind it. The
children come from a forkserver that has the parsers preloaded, so one costs a fork
(tens of milliseconds), not an interpreter start."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import time
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess
from typing import Any

from tradebus_knowledge import Chunk

from ..domain.chunking import ChunkingPolicy
from ..domain.parsing import PARSER_CRASHED, TIMEOUT, TOO_COMPLEX, ParseLimits
from ..errors import DocumentRejected
from .parsers import Work, child_main, extract

_PRELOAD = ["tradebus_omnirag_ingest.adapters.parsers"]
_CPU_SIGNALS = (signal.SIGXCPU, signal.SIGKILL)
_WATCH_SECONDS = 0.05  # how often the child's memory is looked at
_PAGE = os.sysconf("SC_PAGE_SIZE")
_MB = 1024 * 1024


def _resident(pid: int | None) -> int:
    try:
        with open(f"/proc/{pid}/statm") as statm:
            return int(statm.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return 0  # already gone


def _context(start_method: str) -> BaseContext:
    context = multiprocessing.get_context(start_method)
    if start_method == "forkserver":
        context.set_forkserver_preload(_PRELOAD)  # no effect once the server runs
    return context


class ParserSandbox:
    """`work` is the function run in the child (tests pass ones that crash or hang);
    it must be importable by module path."""

    def __init__(
        self,
        limits: ParseLimits,
        policy: ChunkingPolicy,
        *,
        start_method: str = "forkserver",
        work: Work = extract,
    ) -> None:
        self._limits, self._policy, self._work = limits, policy, work
        self._context = _context(start_method)

    async def extract(self, data: bytes, fmt: str) -> list[Chunk]:
        process, reader = await asyncio.to_thread(self._start, data, fmt)
        try:
            answer, peak = await asyncio.to_thread(self._wait, process, reader)
        except BaseException:  # cancelled (shutdown): the child must not outlive the task
            process.kill()
            raise
        finally:
            exitcode = await asyncio.to_thread(self._reap, process, reader)
        return self._chunks(answer, exitcode, peak)

    def _start(self, data: bytes, fmt: str) -> tuple[BaseProcess, Connection]:
        reader, writer = self._context.Pipe(duplex=False)
        process = self._context.Process(  # type: ignore[attr-defined]
            target=child_main,
            args=(writer, self._work, data, fmt, self._limits, self._policy),
            name="tradebus-parser",
            daemon=True,
        )
        process.start()
        writer.close()  # the child holds the only write end: EOF means it is gone
        return process, reader

    def _wait(self, process: BaseProcess, reader: Connection) -> tuple[Any, int]:
        """The child's answer (None when it died without one; TIMEOUT or TOO_COMPLEX
        when the parent stopped it) and its peak resident memory as seen from here.
        Memory is watched as well as limited: CPython may abort rather than raise
        MemoryError when an allocation fails deep in a parser; a kill is nameable."""
        deadline = time.monotonic() + self._limits.timeout_seconds
        ceiling = self._limits.memory_mb * _MB
        peak = 0
        while not reader.poll(_WATCH_SECONDS):
            peak = max(peak, _resident(process.pid))
            if peak > ceiling:
                process.kill()
                return TOO_COMPLEX, peak
            if time.monotonic() > deadline:
                process.kill()
                return TIMEOUT, peak
        try:
            return reader.recv(), peak
        except (EOFError, OSError):
            return None, peak

    @staticmethod
    def _reap(process: BaseProcess, reader: Connection) -> int | None:
        process.join(5)
        if process.exitcode is None:
            process.kill()
            process.join()
        code = process.exitcode
        reader.close()
        process.close()
        return code

    def _chunks(self, answer: Any, code: int | None, peak: int) -> list[Chunk]:
        limits = self._limits
        memory = f"parsing needed more than {limits.memory_mb} MB of memory"
        if answer == TIMEOUT:
            raise DocumentRejected(TIMEOUT, f"parsing took longer than {limits.timeout_seconds}s")
        if answer == TOO_COMPLEX:
            raise DocumentRejected(TOO_COMPLEX, memory)
        if answer is None:
            if code is not None and code < 0 and -code in _CPU_SIGNALS:
                raise DocumentRejected(
                    TIMEOUT, f"parsing used more than {limits.timeout_seconds}s of CPU"
                )
            if peak > limits.memory_mb * _MB // 2:  # died near the limit: out of memory
                raise DocumentRejected(TOO_COMPLEX, memory)
            raise DocumentRejected(
                PARSER_CRASHED, f"the parser died without an answer (exit code {code})"
            )
        if answer[0] == "rejected":
            raise DocumentRejected(answer[1], answer[2])
        return [Chunk(*row) for row in answer[1]]

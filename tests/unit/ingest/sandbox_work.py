"""Child-side work functions that misbehave, for the parser sandbox tests. The sandbox
runs them in its child process by module path, so they live in an importable module."""

from __future__ import annotations

import os
import signal
import time

from tradebus_knowledge import Chunk
from tradebus_omnirag_ingest.domain import ChunkingPolicy, ParseLimits


def exit_hard(data: bytes, fmt: str, limits: ParseLimits, policy: ChunkingPolicy) -> list[Chunk]:
    os._exit(3)


def segfault(data: bytes, fmt: str, limits: ParseLimits, policy: ChunkingPolicy) -> list[Chunk]:
    os.kill(os.getpid(), signal.SIGSEGV)
    time.sleep(10)
    return []


def spin(data: bytes, fmt: str, limits: ParseLimits, policy: ChunkingPolicy) -> list[Chunk]:
    while True:
        pass


def sleep(data: bytes, fmt: str, limits: ParseLimits, policy: ChunkingPolicy) -> list[Chunk]:
    time.sleep(60)
    return []


def hog(data: bytes, fmt: str, limits: ParseLimits, policy: ChunkingPolicy) -> list[Chunk]:
    """Grows a megabyte at a time, touching every page (resident, not just reserved)."""
    blocks = []
    while True:
        blocks.append(bytearray(b"x" * (1024 * 1024)))


def one_big_allocation(
    data: bytes, fmt: str, limits: ParseLimits, policy: ChunkingPolicy
) -> list[Chunk]:
    return [Chunk(0, "x" * (4 * 1024**3), 1, "h")]


def sleep_telling_pid(
    data: bytes, fmt: str, limits: ParseLimits, policy: ChunkingPolicy
) -> list[Chunk]:
    """Writes its pid to the file named by `data`, then hangs."""
    with open(data.decode(), "w") as out:
        out.write(str(os.getpid()))
    time.sleep(60)
    return []

"""The load generator and what the benchmarks share: a closed loop of `concurrency`
clients sending a fixed number of requests over kept-alive connections, percentiles, and
benchmark processes in a Stack."""

from __future__ import annotations

import asyncio
import itertools
import json
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from time import perf_counter
from typing import Any
from urllib.parse import urlsplit

from tests.support.stack import Process, Stack

Body = Callable[[int], dict[str, Any]]  # request number -> JSON body


@dataclass(frozen=True)
class Latency:
    p50_ms: float
    p99_ms: float

    @classmethod
    def of(cls, seconds: list[float]) -> Latency:
        cuts = statistics.quantiles(seconds, n=100, method="inclusive")
        return cls(cuts[49] * 1000, cuts[98] * 1000)

    @classmethod
    def median(cls, runs: list[Latency]) -> Latency:
        return cls(
            statistics.median(r.p50_ms for r in runs), statistics.median(r.p99_ms for r in runs)
        )


class Connection:
    """One kept-alive HTTP/1.1 connection, as lean as a client gets: the load generator
    shares the machine, so its own cost per request is kept far below the servers'."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader, self._writer = reader, writer

    @classmethod
    async def open(cls, url: str) -> Connection:
        parts = urlsplit(url)
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        return cls(reader, writer)

    async def post(self, path: str, body: bytes, headers: str) -> tuple[int, bytes]:
        self._writer.write(
            f"POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n{headers}\r\n".encode()
            + body
        )
        return await self._answer()

    async def get(self, path: str) -> tuple[int, bytes]:
        self._writer.write(f"GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode())
        return await self._answer()

    async def _answer(self) -> tuple[int, bytes]:
        status = int((await self._reader.readline()).split()[1])
        length = 0
        while (line := await self._reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return status, await self._reader.readexactly(length)

    def close(self) -> None:
        self._writer.close()


async def measure(
    url: str,
    path: str,
    body: Body,
    *,
    requests: int,
    concurrency: int,
    headers: dict[str, str] | None = None,
    answers: list[bytes] | None = None,
) -> Latency:
    """`requests` timed POSTs from `concurrency` clients, each on its own kept-alive
    connection and waiting for its answer before sending the next. Each connection is
    used twice before the clock runs. The timed answers' bodies go to `answers`."""
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    numbers = itertools.count()
    latencies: list[float] = []
    remaining = requests

    async def post(connection: Connection) -> tuple[float, bytes]:
        payload = json.dumps(body(next(numbers))).encode()
        started = perf_counter()
        status, answer = await connection.post(path, payload, extra)
        elapsed = perf_counter() - started
        if status != 200:
            raise RuntimeError(f"{path}: {status} {answer[:300]!r}")
        return elapsed, answer

    async def client(connection: Connection) -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            elapsed, answer = await post(connection)
            latencies.append(elapsed)
            if answers is not None:
                answers.append(answer)

    connections = [await Connection.open(url) for _ in range(concurrency)]
    try:
        for _ in range(2):
            await asyncio.gather(*(post(c) for c in connections))
        await asyncio.gather(*(client(c) for c in connections))
    finally:
        for connection in connections:
            connection.close()
    return Latency.of(latencies)


def add_module(stack: Stack, name: str, module: str, env: dict[str, str] | None = None) -> None:
    """A benchmark process (`python -m module`) in the stack, with the next port as its
    TRADEBUS_HTTP_PORT; it must answer /readyz like the services do."""
    port = stack.base_port + len(stack.processes)
    process_env = {**stack.env, **(env or {}), "TRADEBUS_HTTP_PORT": str(port)}
    stack.processes[name] = Process(name, module, port, process_env)

"""Open-loop load: submissions at a fixed rate whatever the answers (a closed loop would
slow down with the server and never overload it), each on a kept-alive connection of a
pool (a new one when all are busy), timed from send to answer."""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.online.load import Connection


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    seconds: float
    task_id: str | None  # of an accepted submission


@dataclass
class Traffic:
    answers: list[Answer] = field(default_factory=list)
    errors: int = 0  # no answer at all (connection failed)

    def of(self, status: int) -> list[Answer]:
        return [a for a in self.answers if a.status == status]

    def accepted_ids(self) -> list[str]:
        return [a.task_id for a in self.answers if a.task_id]


def p99_ms(answers: list[Answer]) -> float | None:
    if len(answers) < 2:
        return None
    return statistics.quantiles([a.seconds for a in answers], n=100, method="inclusive")[98] * 1000


class Pool:
    def __init__(self, url: str) -> None:
        self._url = url
        self._idle: list[Connection] = []
        self.opened = 0

    async def take(self) -> Connection:
        if self._idle:
            return self._idle.pop()
        self.opened += 1
        return await Connection.open(self._url)

    async def fresh(self) -> Connection:
        self.opened += 1
        return await Connection.open(self._url)

    def give(self, connection: Connection) -> None:
        self._idle.append(connection)

    def close(self) -> None:
        for connection in self._idle:
            connection.close()


async def open_loop(
    url: str,
    path: str,
    body: Callable[[int], dict[str, Any]],
    *,
    rate: float,
    seconds: float,
    headers: dict[str, str],
) -> Traffic:
    """`rate` submissions per second for `seconds`, sent on schedule."""
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    pool, traffic = Pool(url), Traffic()
    in_flight: set[asyncio.Task[None]] = set()

    async def one(n: int) -> None:
        payload = json.dumps(body(n)).encode()
        for attempt in (1, 2):  # an idle connection the server closed: once more, anew
            connection = await pool.take() if attempt == 1 else await pool.fresh()
            started = time.perf_counter()
            try:
                status, answer = await connection.post(path, payload, extra)
                break
            except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
                connection.close()
        else:
            traffic.errors += 1
            return
        elapsed = time.perf_counter() - started
        task_id = json.loads(answer).get("task_id") if status == 202 else None
        traffic.answers.append(Answer(status, elapsed, task_id))
        pool.give(connection)

    start = time.perf_counter()
    total = int(rate * seconds)
    for n in range(total):
        delay = start + n / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(one(n))
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
    await asyncio.gather(*in_flight)
    pool.close()
    return traffic


async def probe(url: str, path: str, *, rate: float, seconds: float) -> list[float]:
    """A GET of `path` every 1/`rate` s for `seconds` on one connection, as a health check
    would: the latency of the server's most trivial answer under the same load."""
    connection, latencies = await Connection.open(url), []
    start = time.perf_counter()
    try:
        for n in range(int(rate * seconds)):
            delay = start + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            started = time.perf_counter()
            await connection.get(path)
            latencies.append(time.perf_counter() - started)
    finally:
        connection.close()
    return latencies

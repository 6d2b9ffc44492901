"""Shared bits of the bus benchmark: the message, the result protocol."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import ClassVar

from tradebus_contracts import Contract, MessageKind

URL = "amqp://guest:guest@127.0.0.1:5672/"
PREFETCH = 100


class BenchPing(Contract):
    message_type: ClassVar[str] = "bench.ping.do.v1"
    kind: ClassVar[MessageKind] = MessageKind.COMMAND
    n: int


class Meter:
    """Counts handled messages; writes wall and CPU time between the first and
    the last one, so process start-up and imports are not measured."""

    def __init__(self, expected: int, out: Path) -> None:
        self.expected = expected
        self.out = out
        self.count = 0
        self.t0 = 0.0
        self.cpu0 = 0.0

    def tick(self) -> bool:
        if self.count == 0:
            self.t0, self.cpu0 = time.perf_counter(), time.process_time()
        self.count += 1
        if self.count == self.expected:
            wall = time.perf_counter() - self.t0
            cpu = time.process_time() - self.cpu0
            self.out.write_text(json.dumps({"count": self.count, "wall": wall, "cpu": cpu}))
            return True
        return False

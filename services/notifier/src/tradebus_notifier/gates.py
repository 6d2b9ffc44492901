"""One gate per subscription: its in-flight count against a concurrency limit, its
circuit breaker and its HTTP client (bound to the pinned address). A slow or dead
receiver fills only its own gate; jobs for it are deferred, not queued in the worker,
so every other subscription's deliveries keep flowing."""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from dataclasses import dataclass, field

import httpx

from tradebus_resilience import CircuitBreaker

from .domain.ports import PinnedAddress, TransportFactory


@dataclass
class Gate:
    limit: int
    breaker: CircuitBreaker
    in_flight: int = 0
    address: PinnedAddress | None = None
    client: httpx.AsyncClient | None = None
    waiters: int = 0
    _retired: list[httpx.AsyncClient] = field(default_factory=list)
    _freed: asyncio.Condition = field(default_factory=asyncio.Condition)

    @property
    def full(self) -> bool:
        return self.in_flight >= self.limit

    async def acquire(self, wait: float) -> bool:
        """A slot now, or within `wait` seconds; False: defer the job. At most `limit`
        jobs wait per gate, so a slow receiver holds few worker slots even waiting."""
        if not self.full:
            self.in_flight += 1  # no await since the check: nobody else took it
            return True
        if wait <= 0 or self.waiters >= self.limit:
            return False
        self.waiters += 1
        try:
            async with self._freed:
                try:
                    await asyncio.wait_for(self._freed.wait_for(lambda: not self.full), wait)
                except TimeoutError:
                    return False
                self.in_flight += 1
                return True
        finally:
            self.waiters -= 1

    async def release(self) -> None:
        async with self._freed:
            self.in_flight -= 1
            self._freed.notify(1)

    def client_for(
        self, address: PinnedAddress, transports: TransportFactory, timeout: httpx.Timeout
    ) -> httpx.AsyncClient:
        if self.client is None or self.address != address:
            if self.client is not None:
                self._retired.append(self.client)  # closed once idle (see Gates.close_idle)
            self.client = httpx.AsyncClient(
                transport=transports(address), timeout=timeout, follow_redirects=False
            )
            self.address = address
        return self.client

    async def close(self) -> None:
        for client in [*self._retired, *([self.client] if self.client else [])]:
            with contextlib.suppress(Exception):
                await client.aclose()
        self._retired.clear()
        self.client = None


class Gates:
    def __init__(
        self,
        *,
        concurrency: int,
        breaker_failure_threshold: int,
        breaker_reset_seconds: float,
        max_gates: int = 10_000,
    ) -> None:
        self._concurrency = concurrency
        self._threshold = breaker_failure_threshold
        self._reset = breaker_reset_seconds
        self._max = max_gates
        self._gates: OrderedDict[str, Gate] = OrderedDict()

    def get(self, subscription_id: str) -> Gate:
        gate = self._gates.get(subscription_id)
        if gate is None:
            gate = Gate(
                self._concurrency,
                CircuitBreaker(failure_threshold=self._threshold, reset_seconds=self._reset),
            )
            self._gates[subscription_id] = gate
        self._gates.move_to_end(subscription_id)
        return gate

    async def evict(self) -> None:
        """Close the least recently used idle gates beyond the bound."""
        while len(self._gates) > self._max:
            sid, gate = next(iter(self._gates.items()))
            if gate.in_flight:
                break
            del self._gates[sid]
            await gate.close()
        for gate in self._gates.values():
            if gate.in_flight == 0 and gate._retired:
                retired, gate._retired = gate._retired, []
                for client in retired:
                    with contextlib.suppress(Exception):
                        await client.aclose()

    async def close(self) -> None:
        for gate in self._gates.values():
            await gate.close()
        self._gates.clear()

"""A two-stage pipeline of the same shape and cost as ingest -> embed, on the real broker
through the tradebus runtime: an "ingest" handler (fixed cost) publishes one "embed"
batch (fixed cost) caused by it, so tenant and priority flow as they do in the services;
a document completes when its batch is embedded. Both endpoints use the services'
budgets (ingest prefetch 24 / concurrency 2, embed prefetch 16 / concurrency 1)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import ClassVar

from tradebus_contracts import Contract, MessageKind, MessageRegistry
from tradebus_messaging import Bus, BusSettings, MessageContext


class BenchIngest(Contract):
    message_type: ClassVar[str] = "bench.document.ingest.v1"
    kind: ClassVar[MessageKind] = MessageKind.COMMAND
    doc: str


class BenchEmbed(Contract):
    message_type: ClassVar[str] = "bench.chunks.embed.v1"
    kind: ClassVar[MessageKind] = MessageKind.COMMAND
    doc: str


def registry() -> MessageRegistry:
    from tradebus_contracts import REGISTRY  # message faulted, which every bus may publish

    reg = MessageRegistry(list(REGISTRY))
    reg.register(BenchIngest)
    reg.register(BenchEmbed)
    return reg


@dataclass
class Costs:
    ingest_seconds: float = 0.02
    embed_seconds: float = 0.01
    ingest_prefetch: int = 24
    embed_prefetch: int = 16


@dataclass
class Pipeline:
    url: str
    fair: bool
    costs: Costs
    done: dict[str, float] = field(default_factory=dict)  # doc -> completion time
    _buses: list[Bus] = field(default_factory=list)
    _all_done: asyncio.Event = field(default_factory=asyncio.Event)
    expected: int = 0

    def _bus(self, service: str) -> Bus:
        settings = BusSettings(url=self.url, service=service, shutdown_grace_seconds=2)
        bus = Bus(settings, registry=registry())
        self._buses.append(bus)
        return bus

    async def start(self) -> Bus:
        ingest, embed, client = self._bus("ingest"), self._bus("embed"), self._bus("client")

        async def on_ingest(msg: BenchIngest, ctx: MessageContext) -> None:
            await asyncio.sleep(self.costs.ingest_seconds)
            await ctx.publish(BenchEmbed(doc=msg.doc))

        async def on_embed(msg: BenchEmbed, ctx: MessageContext) -> None:
            await asyncio.sleep(self.costs.embed_seconds)
            self.done.setdefault(msg.doc, time.monotonic())
            if self.expected and len(self.done) >= self.expected:
                self._all_done.set()

        ingest.subscribe(
            queue="bench.ingest",
            message_types=[BenchIngest.message_type],
            handler=on_ingest,
            prefetch=self.costs.ingest_prefetch,
            concurrency=2,
            fair=self.fair,
        )
        embed.subscribe(
            queue="bench.embed",
            message_types=[BenchEmbed.message_type],
            handler=on_embed,
            prefetch=self.costs.embed_prefetch,
            concurrency=1,
            fair=self.fair,
        )
        for bus in (ingest, embed, client):
            await bus.start()
        return client

    def expect(self, documents: int) -> None:
        self.expected = documents

    async def wait(self, timeout: float) -> None:
        await asyncio.wait_for(self._all_done.wait(), timeout)

    async def stop(self) -> None:
        for bus in self._buses:
            await bus.stop()

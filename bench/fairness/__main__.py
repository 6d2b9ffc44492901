"""`make bench-fairness`: does a flood from tenant A starve tenant B's few documents?

    python -m bench.fairness [--flood 2000] [--trickle 20] [--rounds 1]

Through the runtime with synthetic handlers of fixed cost (pipeline.py; the full stack
ingests ~6 documents/s here, too slow for a 2,000-document flood in minutes). Per mode
(fair endpoints, plain FIFO queues), in a fresh vhost: A submits `--flood` documents,
then B submits `--trickle`; B's completion latency (submit to embedded) is compared with
B alone on an idle pipeline, and A's throughput with fairness on and off.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from datetime import date

from bench.fairness.pipeline import BenchIngest, Costs, Pipeline
from bench.readme import write_section
from tests.support.infra import rabbitmq_url
from tests.support.vhost import isolated_vhost

A, B = "tenant-a", "tenant-b2"  # B's shard differs from A's (stable hashing, 8 shards)


async def submit(client, tenant: str, prefix: str, n: int, at: dict[str, float]) -> None:
    for start in range(0, n, 200):  # confirmed publishes, 200 in flight at a time
        batch = [f"{prefix}{i}" for i in range(start, min(n, start + 200))]
        for doc in batch:
            at[doc] = time.monotonic()
        await asyncio.gather(*(client.publish(BenchIngest(doc=d), tenant_id=tenant) for d in batch))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def scenario(fair: bool, flood: int, trickle: int, costs: Costs) -> dict[str, float]:
    async with isolated_vhost("bench-fair") as url:
        pipeline = Pipeline(url, fair, costs)
        client = await pipeline.start()
        submitted: dict[str, float] = {}
        pipeline.expect(flood + trickle)
        try:
            await submit(client, A, "a", flood, submitted)
            await submit(client, B, "b", trickle, submitted)
            await pipeline.wait(timeout=1800)
        finally:
            await pipeline.stop()
    b = [pipeline.done[d] - submitted[d] for d in submitted if d.startswith("b")]
    a_done = [pipeline.done[d] for d in submitted if d.startswith("a")]
    first = min(submitted.values())
    return {
        "b_p50": percentile(b, 0.5),
        "b_p99": percentile(b, 0.99),
        "a_rate": flood / (max(a_done) - first) if a_done else 0.0,
    }


async def main(args: argparse.Namespace) -> None:
    rabbitmq_url()
    costs = Costs(
        args.ingest_ms / 1000, args.embed_ms / 1000, args.ingest_prefetch, args.embed_prefetch
    )
    rows: dict[str, list[dict[str, float]]] = {}
    for _ in range(args.rounds):  # interleaved: the machine's drift hits every mode alike
        for fair in (True, False):
            label = "fair (8 shards)" if fair else "plain FIFO"
            alone = await scenario(fair, 0, args.trickle, costs)
            loaded = await scenario(fair, args.flood, args.trickle, costs)
            rows.setdefault(label, []).append(alone | {f"l_{k}": v for k, v in loaded.items()})
            print(label, alone, loaded, flush=True)
    med = {
        label: {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        for label, runs in rows.items()
    }
    fifo_rate = med["plain FIFO"]["l_a_rate"]
    lines = [
        f"Tenant A submits {args.flood:,} documents, then tenant B {args.trickle}; synthetic "
        f"handlers (ingest {args.ingest_ms:g} ms, prefetch {args.ingest_prefetch}, "
        f"concurrency 2; embed {args.embed_ms:g} ms, prefetch {args.embed_prefetch}, "
        f"concurrency 1), median of {args.rounds} round(s), {date.today()}.",
        "",
        "| queues | B alone p50 s | B alone p99 s | B behind A p50 s | B behind A p99 s "
        "| B p99 vs alone | A docs/s | A vs FIFO |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for label, m in med.items():
        lines.append(
            f"| {label} | {m['b_p50']:.2f} | {m['b_p99']:.2f} | {m['l_b_p50']:.2f} "
            f"| {m['l_b_p99']:.2f} | {m['l_b_p99'] / m['b_p99']:.1f}× | {m['l_a_rate']:.1f} "
            f"| {m['l_a_rate'] / fifo_rate:.2f}× |"
        )
    table = "\n".join(lines)
    print(table)
    if not args.no_write:
        print("wrote", write_section("bench-fairness", table))


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flood", type=int, default=2000)
    parser.add_argument("--trickle", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--ingest-ms", type=float, default=20)
    parser.add_argument("--embed-ms", type=float, default=10)
    parser.add_argument("--ingest-prefetch", type=int, default=24)
    parser.add_argument("--embed-prefetch", type=int, default=16)
    parser.add_argument("--no-write", action="store_true", help="print, leave README alone")
    asyncio.run(main(parser.parse_args()))


if __name__ == "__main__":
    cli()

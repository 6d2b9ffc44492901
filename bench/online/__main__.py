"""`make bench-online`: latency of the online path.

    python -m bench.online [--rounds 5] [--requests-1 1000] [--requests-32 4000]
                           [--asks 600] [--chunks 50000] [--only rpc|ingest] [--no-readme]

(a) the gateway → RabbitMQ RPC path against a direct HTTP route doing the same trivial
work, p50/p99 at concurrency 1 and 32 (target: p99 ratio at most 1.3); (b) dealbrain ask
latency idle and while ~50,000 chunks are ingested (target: p99 ≤ +20%). Prints a table
and writes it into bench/README.md between the bench-online markers.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from bench.readme import write_section

from . import ingest_load, rpc_vs_http
from .load import Latency

ROOT = Path(__file__).resolve().parents[2]


def render_rpc(cells: dict[tuple[str, int], Latency], rounds: int, requests: dict[int, int]) -> str:
    per_cell = ", ".join(f"{n:,} requests at concurrency {c}" for c, n in requests.items())
    lines = [
        f"(a) `POST /v1/dealbrain/ask`, trivial echo handler; {per_cell} per cell, median of "
        f"{rounds} interleaved rounds, {time.strftime('%Y-%m-%d')}.",
        "",
        "| concurrency | gateway → RPC p50 | p99 | gateway → HTTP p50 | p99 "
        "| RPC ÷ HTTP p99 (target ≤ 1.30×) | no gateway, bare HTTP p50 | p99 "
        "| raw aio-pika RPC p50 | p99 | gateway → RPC ÷ (bare HTTP + raw RPC) p50 | p99 |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for c in requests:
        rpc, http = cells[("gateway", c)], cells[("gateway-http", c)]
        bare, raw = cells[("direct-http", c)], cells[("raw-rpc", c)]
        lines.append(
            f"| {c} | {rpc.p50_ms:.2f} ms | {rpc.p99_ms:.2f} ms | {http.p50_ms:.2f} ms "
            f"| {http.p99_ms:.2f} ms | {rpc.p99_ms / http.p99_ms:.2f}× "
            f"| {bare.p50_ms:.2f} ms | {bare.p99_ms:.2f} ms "
            f"| {raw.p50_ms:.2f} ms | {raw.p99_ms:.2f} ms "
            f"| {rpc.p50_ms / (bare.p50_ms + raw.p50_ms):.2f}× "
            f"| {rpc.p99_ms / (bare.p99_ms + raw.p99_ms):.2f}× |"
        )
    return "\n".join(lines)


def render_ingest(result: ingest_load.Result) -> str:
    idle = result.windows[0].latency
    lines = [
        f"(b) dealbrain ask through the gateway: {result.asks:,} asks at concurrency "
        f"{result.concurrency} per window, one run. The loaded windows ran back to back while "
        f"another tenant's {result.chunks:,} chunks were ingested and embedded (the share with "
        "vectors at the start and end of each window is shown).",
        "",
        "| window | bulk chunks embedded | p50 | p99 | p99 change (target ≤ +20%) "
        "| dealbrain's own p99: total, retrieve |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for w in result.windows:
        embedded = f"{w.embedded[0]:.0%} → {w.embedded[1]:.0%}" if w.embedded else ""
        change = f"{w.latency.p99_ms / idle.p99_ms - 1:+.0%}" if w.embedded else ""
        lines.append(
            f"| {w.label} | {embedded} | {w.latency.p50_ms:.1f} ms | {w.latency.p99_ms:.1f} ms "
            f"| {change} | {w.total.p99_ms:.1f} ms, {w.retrieve.p99_ms:.1f} ms |"
        )
    return "\n".join(lines)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests-1", type=int, default=1000)
    parser.add_argument("--requests-32", type=int, default=4000)
    parser.add_argument("--asks", type=int, default=1500)
    parser.add_argument("--ask-concurrency", type=int, default=4)
    parser.add_argument("--chunks", type=int, default=50_000)
    parser.add_argument("--only", choices=("rpc", "ingest"))
    parser.add_argument("--no-readme", action="store_true")
    args = parser.parse_args()
    logs = Path(tempfile.mkdtemp(prefix="bench-online-"))
    sections = []
    if args.only in (None, "rpc"):
        print("(a) gateway → RPC vs direct HTTP", flush=True)
        requests = {1: args.requests_1, 32: args.requests_32}
        cells = await rpc_vs_http.run(requests=requests, rounds=args.rounds, logs=logs)
        sections.append(render_rpc(cells, args.rounds, requests))
    if args.only in (None, "ingest"):
        print("(b) dealbrain ask, idle vs during ingestion", flush=True)
        result = await ingest_load.run(
            asks=args.asks, concurrency=args.ask_concurrency, chunks=args.chunks, logs=logs
        )
        sections.append(render_ingest(result))
    table = "\n\n".join(sections) + (
        "\n\n2 CPU cores shared by RabbitMQ, the embedded MongoDB, every process and the "
        "load generator; the database is the embedded development server."
    )
    print("\n" + table + f"\n\n(process logs: {logs})")
    if not args.no_readme:
        path = write_section("bench-online", table)
        print(f"\nwrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))

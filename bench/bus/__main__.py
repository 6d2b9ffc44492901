"""`make bench-bus`: drain N persistent messages through a no-op handler, per library.

Same broker, same machine, one consumer process, prefetch 100, ack after the
handler, confirmed persistent publishes to a durable queue. Runs are interleaved
across libraries for `--rounds` rounds; the median is reported.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import aio_pika

from bench.bus.common import URL
from bench.bus.prefill import prefill
from bench.readme import write_section

ROOT = Path(__file__).resolve().parents[2]
INBOX_MESSAGES = 2000  # the inbox line does a MongoDB transaction per message


@dataclass(frozen=True)
class Variant:
    key: str  # --only selector
    label: str
    lib: str
    option: str = ""


VARIANTS = [
    Variant("tradebus", "tradebus runtime (classic queue)", "tradebus", "classic"),
    Variant("aiopika", "raw aio-pika", "aiopika"),
    Variant("pika", "raw pika (sync, ceiling)", "pika"),
    Variant("faststream", "FastStream 0.7", "faststream"),
    Variant("celery", "Celery solo", "celery", "solo"),
    Variant("celery", "Celery prefork -c1", "celery", "prefork"),
    Variant("dramatiq", "Dramatiq 1 thread", "dramatiq", "1"),
    Variant("dramatiq", "Dramatiq 2 threads", "dramatiq", "2"),
    Variant("dramatiq", "Dramatiq 8 threads", "dramatiq", "8"),
    Variant("inbox", "tradebus runtime + inbox", "tradebus", "inbox"),
    Variant("quorum", "tradebus runtime (quorum, production)", "tradebus", "quorum"),
]
# Rows that report the best of several configurations of one library.
FAMILIES = {
    "Celery (best of solo / prefork -c1)": "Celery",
    "Dramatiq (best thread count)": "Dramatiq",
}


@dataclass
class Run:
    rate: float  # messages per second
    cpu_per_1k: float  # consumer CPU seconds per 1,000 messages


async def delete_queues(queue: str) -> None:
    connection = await aio_pika.connect(URL)
    async with connection:
        channel = await connection.channel()
        for name in (queue, f"{queue}.dlq", f"{queue}.DQ", f"{queue}.XQ"):
            try:
                await channel.queue_delete(name)
            except aio_pika.exceptions.ChannelClosed:
                channel = await connection.channel()


async def run_once(variant: Variant, n: int) -> Run:
    if variant.option == "inbox":
        n = min(n, INBOX_MESSAGES)
    queue = f"bench.{variant.lib}.{uuid.uuid4().hex[:8]}"
    await prefill(variant.lib, variant.option, queue, n)
    out = Path(tempfile.mkstemp(prefix="bench-bus-", suffix=".json")[1])
    out.unlink()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "dramatiq_queue_prefetch": "100"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bench.bus.consumers",
            variant.lib,
            queue,
            str(n),
            str(out),
            variant.option,
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 600
        while not out.exists():
            if proc.poll() is not None:
                err = proc.stderr.read().decode()[-2000:] if proc.stderr else ""
                raise RuntimeError(f"{variant.label} consumer exited early: {err}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{variant.label} did not drain {n} messages")
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.05)
        result = json.loads(out.read_text())
    finally:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        out.unlink(missing_ok=True)
        await delete_queues(queue)
    return Run(result["count"] / result["wall"], result["cpu"] / result["count"] * 1000)


def summarise(results: dict[str, list[Run]]) -> list[tuple[str, Run]]:
    medians = {
        label: Run(
            statistics.median(r.rate for r in runs), statistics.median(r.cpu_per_1k for r in runs)
        )
        for label, runs in results.items()
        if runs
    }
    rows: list[tuple[str, Run]] = []
    for label, run in medians.items():
        family = next((f for f, prefix in FAMILIES.items() if label.startswith(prefix)), None)
        if family is None:
            rows.append((label, run))
    for family, prefix in FAMILIES.items():
        members = [(label, run) for label, run in medians.items() if label.startswith(prefix)]
        if members:
            best_label, best = max(members, key=lambda item: item[1].rate)
            rows.append((f"{family}: {best_label}", best))
    return rows


def render(rows: list[tuple[str, Run]], n: int, rounds: int) -> str:
    base = next((run.rate for label, run in rows if label.startswith("tradebus runtime (cl")), None)
    lines = [
        f"Drain of {n:,} persistent messages (inbox line: {min(n, INBOX_MESSAGES):,}), "
        f"median of {rounds} interleaved round(s), {time.strftime('%Y-%m-%d')}.",
        "",
        "| consumer | msgs/s | consumer CPU s / 1,000 msgs | tradebus ÷ this |",
        "| --- | ---: | ---: | ---: |",
    ]
    for label, run in rows:
        ratio = f"{base / run.rate:.2f}×" if base else "n/a"
        lines.append(f"| {label} | {run.rate:,.0f} | {run.cpu_per_1k:.3f} | {ratio} |")
    return "\n".join(lines)


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--only", default="", help="comma list: " + ",".join(sorted({v.key for v in VARIANTS}))
    )
    parser.add_argument("--no-readme", action="store_true")
    args = parser.parse_args(argv)
    only = {s for s in args.only.split(",") if s}
    variants = [v for v in VARIANTS if not only or v.key in only]
    results: dict[str, list[Run]] = {v.label: [] for v in variants}
    for round_no in range(1, args.rounds + 1):
        for variant in variants:
            run = await run_once(variant, args.messages)
            results[variant.label].append(run)
            print(
                f"round {round_no}  {variant.label:<40} {run.rate:>9,.0f} msgs/s  "
                f"{run.cpu_per_1k:.3f} CPU s/1k",
                flush=True,
            )
    table = render(summarise(results), args.messages, args.rounds)
    print("\n" + table)
    if not args.no_readme:
        path = write_section("bench-bus", table)
        print(f"\nwrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

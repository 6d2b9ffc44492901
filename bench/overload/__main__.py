"""`make bench-overload`: admission control under 5x overload.

    python -m bench.overload [--seconds 60] [--factor 5] [--slo 30] [--target 0.6]
                             [--words 300] [--capacity-docs 40] [--only on|off] [--no-readme]

Real gateway, omnirag-ingest and omnirag-embed processes (hashing embedder), one vhost
and database. First the capacity: documents accepted and finished per second, from a
burst of `--capacity-docs` through a gateway without admission. Then open-loop clients
submit at `--factor` x that rate for `--seconds`, once to a gateway with admission on
(it admits while the expected wait stays within `--target` x the SLO: the headroom for
the documents' own processing and the drain rate's estimate) and once to one with
admission off (its floor beyond any backlog);
after each, every accepted task is awaited. Reported per run: the 429s and their p99
latency at the client (target < 5 ms), accepted work finishing within the SLO (target
100%), and accepted tasks not terminal at the end (lost: target 0)."""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from bench.ingest.__main__ import document
from bench.readme import write_section
from tests.support.stack import Stack
from tests.support.vhost import isolated_vhost
from tradebus_storage import MongoSettings, create_client

from .traffic import Traffic, open_loop, p99_ms, probe

PROBES_PER_SECOND = 20  # GET /healthz during each run, as a health check would

ROOT = Path(__file__).resolve().parents[2]
KEY = "tb_bench_overload_" + uuid.uuid4().hex
TERMINAL = ["succeeded", "failed", "cancelled"]


@dataclass(frozen=True)
class Run:
    label: str
    rate: float
    traffic: Traffic
    within_slo: int
    finished: int
    waits: list[float]  # seconds from acceptance to the end, of each accepted task
    unfinished: int  # accepted and not terminal when the wait for them ended
    drain_seconds: float
    waited_out: bool  # the wait ended at its timeout: the unfinished were still running
    trivial_p99_ms: float  # GET /healthz under the same load: the floor of any answer


async def capacity(api: httpx.AsyncClient, db: Any, texts: list[str]) -> float:
    """Documents accepted and finished per second, from one burst (8 submitters)."""
    queue = list(enumerate(texts))
    ids: list[str] = []

    async def submitter() -> None:
        while queue:
            i, text = queue.pop()
            response = await api.post("/v1/rag/documents", json={"title": f"c{i}", "text": text})
            response.raise_for_status()
            ids.append(response.json()["task_id"])

    await asyncio.gather(*(submitter() for _ in range(8)))
    await until_terminal(db, ids, timeout=600)
    docs = await db["tasks"].find({"_id": {"$in": ids}}).to_list()
    first = min(d["created_at"] for d in docs)
    last = max(d["finished_at"] for d in docs)
    return len(docs) / max(0.001, (last - first).total_seconds())


async def until_terminal(db: Any, ids: list[str], timeout: float) -> float:
    """Seconds until every task in `ids` ended (or the timeout passed: then `timeout`)."""
    started = time.perf_counter()
    deadline = started + timeout
    while time.perf_counter() < deadline:
        unfinished = await db["tasks"].count_documents(
            {"_id": {"$in": ids}, "status": {"$nin": TERMINAL}}
        )
        if unfinished == 0:
            break
        await asyncio.sleep(1)
    return time.perf_counter() - started


async def overload(
    label: str, url: str, db: Any, *, rate: float, seconds: float, slo: float, words: int
) -> Run:
    rng = random.Random(label)
    texts = [document(rng, words) for _ in range(64)]  # reused: content is not what is tested

    def body(n: int) -> dict[str, Any]:
        return {"title": f"{label} {n}", "text": texts[n % len(texts)] + f" ({label} {n})"}

    print(f"  {label}: {rate:.1f} submissions/s for {seconds:.0f} s", flush=True)
    traffic, probed = await asyncio.gather(
        open_loop(
            url,
            "/v1/rag/documents",
            body,
            rate=rate,
            seconds=seconds,
            headers={"Authorization": f"Bearer {KEY}"},
        ),
        probe(url, "/healthz", rate=PROBES_PER_SECOND, seconds=seconds),
    )
    ids = traffic.accepted_ids()
    wait = max(600.0, 20 * seconds)
    drain = await until_terminal(db, ids, timeout=wait)
    docs = await db["tasks"].find({"_id": {"$in": ids}}).to_list()
    slo_span = timedelta(seconds=slo)
    ended = [d for d in docs if d["status"] in TERMINAL and d.get("finished_at")]
    within = sum(1 for d in ended if d["finished_at"] - d["created_at"] <= slo_span)
    waits = [(d["finished_at"] - d["created_at"]).total_seconds() for d in ended]
    unfinished = len(ids) - len(ended)
    trivial = statistics.quantiles(probed, n=100, method="inclusive")[98] * 1000
    return Run(
        label, rate, traffic, within, len(ended), waits, unfinished, drain, drain >= wait, trivial
    )


def _spread(waits: list[float]) -> str:
    if len(waits) < 2:
        return "-"
    cuts = statistics.quantiles(waits, n=100, method="inclusive")
    return f"{cuts[49]:.0f} s, {cuts[98]:.0f} s"


def _unfinished(run: Run) -> str:
    # Not terminal when the wait timed out is not lost: those tasks were still running.
    if run.waited_out and run.unfinished:
        return f"{run.unfinished:,} still running when the wait ended (not lost)"
    return f"{run.unfinished:,}"


def render(runs: list[Run], cap: float, args: argparse.Namespace) -> str:
    lines = [
        f"Capacity {cap:.1f} documents/s accepted and finished ({args.capacity_docs} documents "
        f"of ~{args.words} words, no admission); then open-loop submissions at {args.factor}x "
        f"that for {args.seconds:.0f} s per run, SLO {args.slo:.0f} s (admission targets "
        f"{args.target:.0%} of it: INGEST_SLO_SECONDS={args.target * args.slo:g}); "
        f"{time.strftime('%Y-%m-%d')}.",
        "",
        "| admission | offered/s | 202 | 429 | 429 p99 (target < 5 ms) "
        "| GET /healthz p99, same load | 202 p99 "
        "| accepted finished within the SLO (target 100%) | acceptance to end p50, p99 "
        "| accepted not terminal at the end (lost) | drain after the load |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for run in runs:
        refused, accepted = run.traffic.of(429), run.traffic.of(202)
        refused_p99, accepted_p99 = p99_ms(refused), p99_ms(accepted)
        share = run.within_slo / len(accepted) if accepted else 0.0
        lines.append(
            f"| {run.label} | {run.rate:.1f} | {len(accepted):,} | {len(refused):,} "
            f"| {f'{refused_p99:.2f} ms' if refused_p99 is not None else '-'} "
            f"| {run.trivial_p99_ms:.2f} ms "
            f"| {f'{accepted_p99:.2f} ms' if accepted_p99 is not None else '-'} "
            f"| {share:.1%} ({run.within_slo:,} of {len(accepted):,}) | {_spread(run.waits)} "
            f"| {_unfinished(run)} "
            f"| {run.drain_seconds:.0f} s{'+' if run.waited_out else ''} |"
        )
    others = sum(
        len(r.traffic.answers) - len(r.traffic.of(202)) - len(r.traffic.of(429)) for r in runs
    )
    errors = sum(r.traffic.errors for r in runs)
    lines += [
        "",
        f"Other answers: {others}; requests without an answer: {errors}. 2 CPU cores shared by "
        "RabbitMQ, the embedded MongoDB, every process and the load generator.",
    ]
    return "\n".join(lines)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--factor", type=float, default=5)
    parser.add_argument("--slo", type=float, default=30)
    parser.add_argument("--target", type=float, default=0.6)
    parser.add_argument("--words", type=int, default=300)
    parser.add_argument("--capacity-docs", type=int, default=40)
    parser.add_argument(
        "--only", choices=("on", "off"), help="one run (the README is then left alone)"
    )
    parser.add_argument("--no-readme", action="store_true")
    args = parser.parse_args()
    logs = Path(tempfile.mkdtemp(prefix="bench-overload-"))
    database = f"bench_overload_{uuid.uuid4().hex[:8]}"
    async with isolated_vhost("bench-overload") as amqp_url:
        stack = Stack(
            database=database,
            base_port=18_640,
            logs=logs,
            env={
                "RABBITMQ_URL": amqp_url,
                "TRADEBUS_BOOTSTRAP_API_KEY": KEY,
                "TRADEBUS_LOG_LEVEL": "WARNING",
                # the tenant's request rate is not what is measured
                "TRADEBUS_GATEWAY_TENANT_RATE_PER_SECOND": "100000",
                "TRADEBUS_GATEWAY_TENANT_BURST": "100000",
                "TRADEBUS_GATEWAY_INGEST_TENANT_SHARE": "1.0",  # one tenant
                "TRADEBUS_GATEWAY_INGEST_SLO_SECONDS": str(args.target * args.slo),
                "TRADEBUS_GATEWAY_ADMISSION_SAMPLE_SECONDS": "0.5",
                "TRADEBUS_GATEWAY_ADMISSION_WINDOW_SECONDS": "10",
                "TRADEBUS_GATEWAY_INGEST_BACKLOG_FLOOR": "10",
            },
        )
        stack.add("gateway", "gateway")
        stack.add(
            "gateway-open", "gateway", env={"TRADEBUS_GATEWAY_INGEST_BACKLOG_FLOOR": "1000000000"}
        )
        stack.add("omnirag-ingest", "omnirag-ingest")
        stack.add("omnirag-embed", "omnirag-embed")
        client = create_client(MongoSettings())
        db = client[database]
        try:
            await stack.start_all()
            async with httpx.AsyncClient(
                base_url=stack.processes["gateway-open"].url,
                headers={"Authorization": f"Bearer {KEY}"},
                timeout=60,
            ) as api:
                rng = random.Random(1)
                texts = [document(rng, args.words) for _ in range(args.capacity_docs)]
                cap = await capacity(api, db, texts)
            print(f"capacity: {cap:.1f} documents/s", flush=True)
            rate = args.factor * cap
            runs = []
            for label, name in (("on", "gateway"), ("off", "gateway-open")):
                if args.only not in (None, label):
                    continue
                runs.append(
                    await overload(
                        label,
                        stack.processes[name].url,
                        db,
                        rate=rate,
                        seconds=args.seconds,
                        slo=args.slo,
                        words=args.words,
                    )
                )
        finally:
            await stack.stop_all()
            await client.drop_database(database)
            await client.close()
    table = render(runs, cap, args)
    print("\n" + table + f"\n\n(process logs: {logs})")
    if not args.no_readme and args.only is None:
        path = write_section("bench-overload", table)
        print(f"\nwrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))

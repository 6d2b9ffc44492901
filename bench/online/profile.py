"""Where the gateway's CPU goes on the bench-online (a) load:

    python -m bench.online.profile [--requests 6000] [--concurrency 32] [--out DIR]

The real gateway process (`python -m tradebus_gateway`) in front of the same echo RPC
server as bench-online, sampled by py-spy (a bench-only dependency: it reads the process
from outside, so the gateway runs unmodified) while the load runs. Writes the collapsed
stacks and a speedscope file to DIR and prints the functions by self time and the
gateway's own frames by total time, as shares of the samples."""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import uuid
from collections import Counter
from pathlib import Path

from tests.support.stack import Stack
from tests.support.vhost import isolated_vhost
from tradebus_storage import MongoSettings, create_client

from .load import add_module, measure
from .rpc_vs_http import body

KEY = "tb_bench_profile_" + uuid.uuid4().hex
PY_SPY = Path(sys.executable).with_name("py-spy")


def summarise(collapsed: Path, top: int = 25) -> str:
    """Self time per function, and inclusive time of frames in our own packages."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        own[_short(frames[-1])] += n
        for frame in {_short(f) for f in frames if "tradebus_" in f or "starlette" in f}:
            inclusive[frame] += n
    lines = [f"{total:,} samples", "", "self time:"]
    lines += [f"  {n / total:6.1%}  {name}" for name, n in own.most_common(top)]
    lines += ["", "total time, our frames and starlette's:"]
    lines += [f"  {n / total:6.1%}  {name}" for name, n in inclusive.most_common(top)]
    return "\n".join(lines)


def _short(frame: str) -> str:
    # py-spy frames read `function (path/to/module.py:line)`
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    parts = path.split("/")
    return f"{name} ({'/'.join(parts[-2:])})"


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    assert PY_SPY.exists(), "pip install -r requirements/bench.lock (py-spy)"
    out = args.out or Path(tempfile.mkdtemp(prefix="bench-profile-"))
    out.mkdir(parents=True, exist_ok=True)
    database = f"bench_profile_{uuid.uuid4().hex[:8]}"
    async with isolated_vhost("bench-profile") as amqp_url:
        stack = Stack(
            database=database,
            base_port=18_560,
            logs=out,
            env={
                "RABBITMQ_URL": amqp_url,
                "TRADEBUS_BOOTSTRAP_API_KEY": KEY,
                "TRADEBUS_LOG_LEVEL": "WARNING",
                "TRADEBUS_GATEWAY_TENANT_RATE_PER_SECOND": "1000000",
                "TRADEBUS_GATEWAY_TENANT_BURST": "1000000",
                "TRADEBUS_GATEWAY_ASK_MAX_IN_FLIGHT": "1000",
                "TRADEBUS_GATEWAY_ASK_TENANT_MAX_IN_FLIGHT": "1000",
            },
        )
        stack.add("gateway", "gateway")
        add_module(stack, "echo-rpc", "bench.online.echo_rpc")
        client = create_client(MongoSettings())
        try:
            await stack.start_all()
            gateway = stack.processes["gateway"]
            assert gateway.proc is not None
            collapsed = out / "gateway.collapsed.txt"
            spy = await asyncio.create_subprocess_exec(
                str(PY_SPY),
                "record",
                "--pid",
                str(gateway.proc.pid),
                "--rate",
                "250",
                "--format",
                "raw",
                "--output",
                str(collapsed),
                "--nonblocking",
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
            await asyncio.sleep(1)  # py-spy attached
            latency = await measure(
                gateway.url,
                "/v1/dealbrain/ask",
                body,
                requests=args.requests,
                concurrency=args.concurrency,
                headers={"Authorization": f"Bearer {KEY}"},
            )
            spy.send_signal(2)  # SIGINT: py-spy writes what it sampled
            await spy.wait()
            print(f"c={args.concurrency}: p50 {latency.p50_ms:.2f} ms, p99 {latency.p99_ms:.2f} ms")
        finally:
            await stack.stop_all()
            await client.drop_database(database)
            await client.close()
    print(summarise(collapsed))
    print(f"\ncollapsed stacks: {collapsed}")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))

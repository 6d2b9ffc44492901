"""(a) `POST /v1/dealbrain/ask` through the gateway (API-key lookup from its cache, rate
limit, in-flight budget) to a trivial echo handler in a separate process, reached
- `gateway`: over RabbitMQ RPC (direct reply-to), as in production;
- `gateway-http`: over direct HTTP (httpx keep-alive pool) from the same gateway code,
  which is the comparison the target is about: what the broker hop costs against HTTP;
- `direct-http`: with no gateway at all, the echo behind a bare FastAPI route (the floor);
- `raw-rpc`: with no gateway at all, raw aio-pika direct reply-to RPC from the benchmark
  process to the same echo handler (bench/online/raw_rpc.py): the broker hop's floor.
  The gateway's own cost is judged against bare HTTP + raw RPC, the two floors it joins.
Each is a real process; the cells run interleaved, round after round."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from tests.support.stack import Stack
from tests.support.vhost import isolated_vhost
from tradebus_storage import MongoSettings, create_client

from . import raw_rpc
from .load import Latency, add_module, measure

KEY = "tb_bench_online_" + uuid.uuid4().hex
PATHS = ("gateway", "gateway-http", "direct-http", "raw-rpc")


def body(n: int) -> dict[str, Any]:
    return {"question": f"question {n}: who pays the freight?"}


async def run(
    *, requests: dict[int, int], rounds: int, logs: Path
) -> dict[tuple[str, int], Latency]:
    """Median p50/p99 per (path, concurrency), `requests[concurrency]` timed per cell."""
    database = f"bench_online_{uuid.uuid4().hex[:8]}"
    async with isolated_vhost("bench-online") as amqp_url:
        stack = Stack(
            database=database,
            base_port=18_500,
            logs=logs,
            env={
                "RABBITMQ_URL": amqp_url,
                "TRADEBUS_BOOTSTRAP_API_KEY": KEY,
                "TRADEBUS_LOG_LEVEL": "WARNING",
                # Admission is not what is measured: no rate limit, a budget above the load.
                "TRADEBUS_GATEWAY_TENANT_RATE_PER_SECOND": "1000000",
                "TRADEBUS_GATEWAY_TENANT_BURST": "1000000",
                "TRADEBUS_GATEWAY_ASK_MAX_IN_FLIGHT": "1000",
                "TRADEBUS_GATEWAY_ASK_TENANT_MAX_IN_FLIGHT": "1000",
            },
        )
        stack.add("gateway", "gateway")
        add_module(stack, "echo-rpc", "bench.online.echo_rpc")
        add_module(stack, "direct-http", "bench.online.direct_http")
        add_module(stack, "raw-rpc-echo", "bench.online.raw_rpc")
        echo_port = stack.base_port + len(stack.processes)
        add_module(stack, "echo-http", "bench.online.echo_http")
        gateway_port = stack.base_port + len(stack.processes)
        add_module(
            stack,
            "gateway-http",
            "bench.online.gateway_http",
            env={
                "TRADEBUS_GATEWAY_PORT": str(gateway_port),
                "TRADEBUS_BENCH_ECHO_URL": f"http://127.0.0.1:{echo_port}",
            },
        )
        client = create_client(MongoSettings())
        try:
            await stack.start_all()
            runs: dict[tuple[str, int], list[Latency]] = {
                (path, c): [] for c in requests for path in PATHS
            }
            for round_no in range(1, rounds + 1):
                for path, concurrency in runs:
                    if path == "raw-rpc":
                        latency = await raw_rpc.measure(
                            amqp_url, requests=requests[concurrency], concurrency=concurrency
                        )
                    else:
                        latency = await measure(
                            stack.processes[path].url,
                            "/v1/dealbrain/ask",
                            body,
                            requests=requests[concurrency],
                            concurrency=concurrency,
                            headers={"Authorization": f"Bearer {KEY}"},
                        )
                    runs[(path, concurrency)].append(latency)
                    print(
                        f"  round {round_no}  {path:<12} c={concurrency:<3} "
                        f"p50 {latency.p50_ms:6.2f} ms  p99 {latency.p99_ms:6.2f} ms",
                        flush=True,
                    )
            return {cell: Latency.median(latencies) for cell, latencies in runs.items()}
        finally:
            await stack.stop_all()
            await client.drop_database(database)
            await client.close()

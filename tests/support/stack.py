"""The services as real processes for end-to-end tests: start, wait ready, kill, restart.

Each stack uses its own ports and its own MongoDB database, so it never collides with a
`make run` on the same machine (the RabbitMQ queues are the real, shared ones)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aio_pika
import aio_pika.exceptions
import httpx

from tradebus_messaging import BusSettings
from tradebus_messaging.fairness import lane_queues
from tradebus_storage import MongoSettings, create_client

from .infra import require_mongodb, require_rabbitmq
from .vhost import isolated_vhost

ROOT = Path(__file__).resolve().parents[2]

MODULES = {
    "gateway": "tradebus_gateway",
    "omnirag-ingest": "tradebus_omnirag_ingest",
    "omnirag-embed": "tradebus_omnirag_embed",
    "notifier": "tradebus_notifier",
    "dealbrain": "tradebus_dealbrain",
    "shadowhunter": "tradebus_shadowhunter",
}


@dataclass
class Process:
    name: str
    module: str
    port: int
    env: dict[str, str]
    proc: asyncio.subprocess.Process | None = None
    log: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Stack:
    database: str
    base_port: int
    env: dict[str, str] = field(default_factory=dict)
    logs: Path = Path("/tmp")
    processes: dict[str, Process] = field(default_factory=dict)
    # Every gateway of the stack bootstraps this operator key (the operator API's).
    operator_key: str = field(default_factory=lambda: "tb_e2e_operator_" + uuid.uuid4().hex)

    def add(self, name: str, service: str, *, env: dict[str, str] | None = None) -> Process:
        port = self.base_port + len(self.processes)
        port_env = (
            {"TRADEBUS_GATEWAY_PORT": str(port)}
            if service == "gateway"
            else {"TRADEBUS_HTTP_PORT": str(port)}
        )
        process = Process(name, MODULES[service], port, {**self.env, **(env or {}), **port_env})
        self.processes[name] = process
        return process

    async def start(self, name: str, *, wait: bool = True) -> Process:
        """Start `name`; unless `wait` is false, return once its /readyz answers 200."""
        process = self.processes[name]
        if await _answers(process.port):
            # /readyz of whatever holds the port would pass for this process's
            raise AssertionError(f"{process.name}: port {process.port} is taken by another process")
        process.log = self.logs / f"{name}.log"
        log = process.log.open("ab")
        process.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            process.module,
            cwd=ROOT,
            env={
                **os.environ,
                "MONGODB_DATABASE": self.database,
                # one stack's limits never count another's requests in a shared Redis
                "TRADEBUS_GATEWAY_LIMITS_PREFIX": self.database,
                "TRADEBUS_BOOTSTRAP_OPERATOR_KEY": self.operator_key,
                **process.env,
            },
            stdout=log,
            stderr=log,
        )
        log.close()
        if wait:
            await self.wait_ready(process)
        return process

    async def start_all(self) -> None:
        await asyncio.gather(*(self.start(name) for name in self.processes))

    async def wait_ready(self, process: Process, timeout: float = 60) -> None:
        async with httpx.AsyncClient(timeout=2) as client:
            deadline = asyncio.get_running_loop().time() + timeout
            while asyncio.get_running_loop().time() < deadline:
                assert process.proc is not None
                if process.proc.returncode is not None:
                    raise AssertionError(f"{process.name} exited: {self.tail(process)}")
                try:
                    if (await client.get(process.url + "/readyz")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.2)
        raise AssertionError(f"{process.name} not ready in {timeout}s: {self.tail(process)}")

    async def kill(self, name: str) -> None:
        """SIGKILL: no drain, no acks; whatever it held goes back to the broker."""
        process = self.processes[name]
        assert process.proc is not None
        process.proc.send_signal(signal.SIGKILL)
        await process.proc.wait()

    async def stop(self, name: str, grace: float = 20) -> int | None:
        process = self.processes[name]
        proc = process.proc
        if proc is None or proc.returncode is not None:
            return proc.returncode if proc else None
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), grace)
        except TimeoutError:
            proc.kill()
            await proc.wait()
        return proc.returncode

    async def stop_all(self) -> None:
        await asyncio.gather(*(self.stop(name) for name in self.processes))

    def api(self, key: str, *, timeout: float = 30) -> httpx.AsyncClient:
        """A client of this stack's gateway holding `key`."""
        return httpx.AsyncClient(
            base_url=self.processes["gateway"].url,
            headers={"Authorization": f"Bearer {key}"},
            timeout=timeout,
        )

    @contextlib.asynccontextmanager
    async def db(self) -> AsyncIterator[Any]:
        """This stack's database, on a client of its own for the block."""
        client = create_client(MongoSettings())
        try:
            yield client[self.database]
        finally:
            await client.close()

    async def drained(self, queue: str, timeout: float = 60) -> None:
        """Until nothing is ready in `queue` and its fair lanes (a fair endpoint's backlog
        sits in its lanes), then a moment for the last delivery's handler to finish."""
        names = (queue, *lane_queues(queue, BusSettings().fair_shards))
        connection = await aio_pika.connect(self.env["RABBITMQ_URL"])
        try:
            channel = await connection.channel()
            async with asyncio.timeout(timeout):
                while True:
                    ready = 0
                    for name in names:
                        with contextlib.suppress(aio_pika.exceptions.ChannelNotFoundEntity):
                            declared = await channel.declare_queue(name, passive=True)
                            ready += declared.declaration_result.message_count or 0
                        if channel.is_closed:  # a missing lane closed it: not a fair queue
                            channel = await connection.channel()
                    if not ready:
                        break
                    await asyncio.sleep(0.2)
            await asyncio.sleep(0.5)
        finally:
            await connection.close()

    def tail(self, process: Process, lines: int = 30) -> str:
        if process.log is None or not process.log.exists():
            return ""
        return "\n".join(process.log.read_text(errors="replace").splitlines()[-lines:])


async def _answers(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


@contextlib.asynccontextmanager
async def isolated_stack(
    prefix: str,
    *,
    base_port: int,
    logs: Path,
    env: Mapping[str, str],
    services: Sequence[tuple[str, str]],
) -> AsyncIterator[Stack]:
    """`services` ((name, service) pairs) started in a RabbitMQ vhost and a MongoDB
    database of their own; stopped, and both dropped, afterwards."""
    require_rabbitmq()
    require_mongodb()
    database = f"{prefix.replace('-', '_')}_{uuid.uuid4().hex[:10]}"
    async with isolated_vhost(prefix) as amqp_url:
        stack = Stack(
            database=database,
            base_port=base_port,
            logs=logs,
            env={"RABBITMQ_URL": amqp_url, "TRADEBUS_LOG_JSON": "true", **env},
        )
        for name, service in services:
            stack.add(name, service)
        await stack.start_all()
        try:
            yield stack
        finally:
            await stack.stop_all()
            client = create_client(MongoSettings())
            with contextlib.suppress(Exception):
                await client.drop_database(database)
            await client.close()

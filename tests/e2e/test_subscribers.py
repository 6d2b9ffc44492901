"""The subscriber kit against the real broker: the Node.js (amqplib + ajv) and the
FastStream examples, run as their own processes exactly as a downstream team would,
each bind a durable quorum queue of their own with their own dead-letter queue to
`tradebus.events` by pattern, as users holding only the permissions the subscribing guide
tells a team to ask for. Our runtime publishes real events; both subscribers
receive and validate them, and a payload that breaks the contract lands in each
subscriber's DLQ, rejected, with its envelope."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import aio_pika
import httpx
import pytest

from tests.support.infra import MANAGEMENT_URL, require_rabbitmq
from tests.support.node import NODE_SUBSCRIBER, ensure_packages, node
from tests.support.vhost import isolated_vhost
from tradebus_contracts import (
    REGISTRY,
    DocumentIndexed,
    Progress,
    TaskStatus,
    TaskStatusChanged,
)
from tradebus_messaging import Bus, BusSettings

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
FASTSTREAM_SUBSCRIBER = ROOT / "examples" / "faststream_subscriber" / "subscriber.py"
PATTERNS = ("omnirag.document.#", "task.status.#")


@dataclass
class Subscriber:
    name: str
    queue: str
    proc: asyncio.subprocess.Process
    lines: list[dict] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    readers: list[asyncio.Task[None]] = field(default_factory=list)

    async def events(self, count: int, *, timeout: float = 30) -> list[dict]:
        async with asyncio.timeout(timeout):
            while len(self.lines) < count:
                if self.proc.returncode is not None:
                    pytest.fail(f"{self.name} exited {self.proc.returncode}:\n" + self.stderr())
                await asyncio.sleep(0.05)
        return self.lines

    def stderr(self) -> str:
        return "\n".join(self.log[-40:])


async def _read(stream: asyncio.StreamReader, into: list, parse: bool) -> None:
    async for raw in stream:
        line = raw.decode().rstrip("\n")
        if not parse:
            into.append(line)
            continue
        with contextlib.suppress(ValueError):
            value = json.loads(line)
            if isinstance(value, dict):
                into.append(value)


@contextlib.asynccontextmanager
async def running(
    name: str, queue: str, argv: Sequence[str], env: dict
) -> AsyncIterator[Subscriber]:
    proc = await asyncio.create_subprocess_exec(
        *argv,
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    sub = Subscriber(name, queue, proc)
    sub.readers = [
        asyncio.create_task(_read(proc.stdout, sub.lines, parse=True)),
        asyncio.create_task(_read(proc.stderr, sub.log, parse=False)),
    ]
    try:
        yield sub
    finally:
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        for reader in sub.readers:
            reader.cancel()


class Management:
    def __init__(self, amqp_url: str) -> None:
        url = httpx.URL(MANAGEMENT_URL)
        self.vhost = quote(unquote(urlsplit(amqp_url).path[1:]), safe="")
        self.api = httpx.AsyncClient(
            base_url=str(url.copy_with(username=None, password=None)),
            auth=(url.username or "guest", url.password or "guest"),
            timeout=10,
        )

    @contextlib.asynccontextmanager
    async def team_user(self, amqp_url: str, team: str) -> AsyncIterator[str]:
        """An AMQP URL for a user holding only the permissions docs/subscribing.md tells
        a team to ask for: its own names, plus reading from tradebus.events."""
        name, password = f"{team}-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
        user = f"/api/users/{quote(name, safe='')}"
        (await self.api.put(user, json={"password": password, "tags": ""})).raise_for_status()
        try:
            permissions = {
                "configure": rf"^{team}\.",
                "write": rf"^{team}\.",
                "read": rf"^({team}\..*|tradebus\.events)$",
            }
            (
                await self.api.put(
                    f"/api/permissions/{self.vhost}/{quote(name, safe='')}", json=permissions
                )
            ).raise_for_status()
            parts = urlsplit(amqp_url)
            netloc = f"{name}:{password}@{parts.hostname}:{parts.port or 5672}"
            yield urlunsplit(parts._replace(netloc=netloc))
        finally:
            await self.api.delete(user)

    async def queue(self, name: str) -> dict:
        response = await self.api.get(f"/api/queues/{self.vhost}/{quote(name, safe='')}")
        return response.json() if response.status_code == 200 else {}

    async def bindings(self, queue: str) -> set[tuple[str, str]]:
        response = await self.api.get(f"/api/queues/{self.vhost}/{quote(queue, safe='')}/bindings")
        response.raise_for_status()
        return {(b["source"], b["routing_key"]) for b in response.json()}

    async def wait_drained(self, queue: str, *, timeout: float = 30) -> None:
        """Ready and unacked both zero (the management API's figures lag a few seconds)."""
        async with asyncio.timeout(timeout):
            while (await self.queue(queue)).get("messages", 1) != 0:
                await asyncio.sleep(0.25)

    async def wait_consuming(self, sub: Subscriber, *, timeout: float = 60) -> dict:
        async with asyncio.timeout(timeout):
            while True:
                if sub.proc.returncode is not None:
                    pytest.fail(f"{sub.name} exited {sub.proc.returncode}:\n" + sub.stderr())
                queue = await self.queue(sub.queue)
                if queue.get("consumers", 0) >= 1:
                    return queue
                await asyncio.sleep(0.2)


async def _ready_messages(channel: aio_pika.abc.AbstractChannel, queue: str) -> int:
    declared = await channel.declare_queue(queue, passive=True)
    return int(declared.declaration_result.message_count or 0)


async def _wait_dead_lettered(
    channel: aio_pika.abc.AbstractChannel, queue: str, *, timeout: float = 30
) -> aio_pika.abc.AbstractIncomingMessage:
    async with asyncio.timeout(timeout):
        while True:
            dlq = await channel.get_queue(queue, ensure=False)
            message = await dlq.get(fail=False, no_ack=True)
            if message is not None:
                return message
            await asyncio.sleep(0.1)


async def _node_argv() -> list[str]:
    await asyncio.to_thread(ensure_packages, NODE_SUBSCRIBER)
    return [node(), str(NODE_SUBSCRIBER / "subscriber.mjs")]


@pytest.mark.timeout(240)
async def test_node_and_faststream_subscribers_receive_validate_and_dead_letter() -> None:
    require_rabbitmq()
    tenant = f"tenant-{uuid.uuid4().hex[:8]}"
    async with isolated_vhost("e2e-subscribers") as amqp_url:
        # Our runtime declares the topology (tradebus.events) the teams bind to.
        bus = Bus(BusSettings(url=amqp_url, service="omnirag-embed"), registry=REGISTRY)
        await bus.start()
        management = Management(amqp_url)
        try:
            async with (
                management.team_user(amqp_url, "billing") as billing_url,
                management.team_user(amqp_url, "analytics") as analytics_url,
                running(
                    "node subscriber",
                    "billing.tradebus-events",
                    await _node_argv(),
                    {
                        "AMQP_URL": billing_url,
                        "QUEUE": "billing.tradebus-events",
                        "PATTERNS": ",".join(PATTERNS),
                    },
                ) as node_sub,
                running(
                    "faststream subscriber",
                    "analytics.tradebus-events",
                    [sys.executable, str(FASTSTREAM_SUBSCRIBER)],
                    {
                        "SUBSCRIBER_AMQP_URL": analytics_url,
                        "SUBSCRIBER_QUEUE": "analytics.tradebus-events",
                        "SUBSCRIBER_PATTERNS": json.dumps(list(PATTERNS)),
                    },
                ) as fast_sub,
            ):
                for sub in (node_sub, fast_sub):
                    queue = await management.wait_consuming(sub)
                    assert queue["durable"] is True
                    assert queue["arguments"]["x-queue-type"] == "quorum"
                    assert queue["arguments"]["x-dead-letter-exchange"] == f"{sub.queue}.dlx"
                    assert queue["arguments"]["x-delivery-limit"] == 5
                    assert await management.bindings(sub.queue) >= {
                        ("tradebus.events", p) for p in PATTERNS
                    }
                    dlq = await management.queue(f"{sub.queue}.dlq")
                    assert dlq["arguments"]["x-queue-type"] == "quorum"

                indexed = DocumentIndexed(
                    tenant_id=tenant,
                    document_id="doc-1",
                    task_id="task-1",
                    title="Incoterms 2020",
                    chunk_count=7,
                    indexed_at=datetime.now(UTC),
                )
                status = TaskStatusChanged(
                    task_id="task-1",
                    tenant_id=tenant,
                    task_kind="rag.ingest",
                    status=TaskStatus.SUCCEEDED,
                    previous_status=TaskStatus.RUNNING,
                    progress=Progress(done=7, total=7),
                    occurred_at=datetime.now(UTC),
                )
                sent_indexed = await bus.publish(indexed, tenant_id=tenant)
                sent_status = await bus.publish(status, tenant_id=tenant)

                for sub in (node_sub, fast_sub):
                    first, second = await sub.events(2)
                    by_type = {line["type"]: line for line in (first, second)}
                    assert set(by_type) == {indexed.message_type, status.message_type}
                    got_indexed = by_type[indexed.message_type]
                    assert got_indexed["id"] == sent_indexed.id
                    assert got_indexed["data"] == indexed.model_dump(mode="json"), sub.name
                    assert by_type[status.message_type]["id"] == sent_status.id
                    assert by_type[status.message_type]["data"]["status"] == "succeeded"
                node_indexed = {line["type"]: line for line in node_sub.lines}
                assert node_indexed[indexed.message_type]["tenantid"] == tenant
                fast_indexed = {line["type"]: line for line in fast_sub.lines}
                assert fast_indexed[indexed.message_type]["tenant_id"] == tenant

                # A producer bug: a payload that breaks the published schema (a negative
                # count), sent through our runtime without pydantic's validation.
                broken = DocumentIndexed.model_construct(
                    **{**indexed.model_dump(), "document_id": "doc-broken", "chunk_count": -3}
                )
                sent_broken = await bus.publish(broken, tenant_id=tenant)

                connection = await aio_pika.connect(amqp_url)
                try:
                    channel = await connection.channel()
                    for sub in (node_sub, fast_sub):
                        parked = await _wait_dead_lettered(channel, f"{sub.queue}.dlq")
                        headers = parked.headers
                        assert headers["cloudEvents:id"] == sent_broken.id, sub.name
                        assert headers["x-first-death-reason"] == "rejected"
                        assert headers["x-first-death-queue"] == sub.queue
                        assert json.loads(parked.body)["chunk_count"] == -3
                        # Nothing else was dead-lettered, nothing is left unacked.
                        assert await _ready_messages(channel, f"{sub.queue}.dlq") == 0
                        assert len(sub.lines) == 2, sub.name
                    for sub in (node_sub, fast_sub):
                        await management.wait_drained(sub.queue)
                finally:
                    await connection.close()
                assert any("rejected to the dead-letter queue" in line for line in node_sub.log)
        finally:
            await management.api.aclose()
            await bus.stop()

"""Alert rules end to end in one notifier: the real broker (a vhost of the test's own), the
real database, and loopback receivers that check each channel's format the way the
real service would (answering as it does) and the webhook of a subscribed tenant."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aio_pika
import pytest

from tests.support.asgi_server import read_body, running_asgi
from tests.support.infra import require_mongodb
from tradebus_contracts import REGISTRY, AlertRaised, AlertResolved, Contract
from tradebus_messaging import Bus, MessageContext
from tradebus_messaging.runner import Worker
from tradebus_notifier.app import build
from tradebus_notifier.settings import NotifierSettings
from tradebus_storage import MongoSettings, WebhookRepository

from .conftest import bus_settings
from .receiver import running_receiver

pytestmark = pytest.mark.integration


# -- channel receivers ---------------------------------------------------------------


def check_json(body: Any) -> str | None:
    need = {"status", "alert_id", "rule", "severity", "subject", "value", "threshold", "summary"}
    return None if isinstance(body, dict) and need <= body.keys() else "missing fields"


def check_slack(body: Any) -> str | None:
    # An incoming webhook takes `text` (required as the fallback when `blocks` is given)
    # and optional Block Kit `blocks`; anything else is `invalid_payload`.
    if not isinstance(body, dict) or not isinstance(body.get("text"), str) or not body["text"]:
        return "invalid_payload"
    for block in body.get("blocks", []):
        if block.get("type") not in ("section", "context", "header", "divider"):
            return "invalid_blocks"
        if block["type"] == "section" and block["text"]["type"] not in ("mrkdwn", "plain_text"):
            return "invalid_blocks"
    return None


def check_wecom(body: Any) -> str | None:
    if not isinstance(body, dict) or body.get("msgtype") != "markdown":
        return "40008 invalid message type"
    content = body.get("markdown", {}).get("content")
    if not isinstance(content, str) or not content or len(content.encode()) > 4096:
        return "40058 markdown.content exceed max length or empty"
    return None


@dataclass
class ChannelReceiver:
    """Answers like the service it stands for: Slack `200 ok` / `400 invalid_payload`,
    WeCom always 200 with an errcode, a JSON receiver 204 / 400."""

    kind: str
    url: str = ""
    bodies: list[Any] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        raw = await read_body(receive) or b""
        headers = dict(scope["headers"])
        try:
            body = json.loads(raw)
            problem = {"json": check_json, "slack": check_slack, "wecom": check_wecom}[self.kind](
                body
            )
        except ValueError:
            body, problem = None, "not JSON"
        if not headers.get(b"content-type", b"").startswith(b"application/json"):
            problem = problem or "not application/json"
        if problem is None:
            self.bodies.append(body)
        else:
            self.refused.append(problem)
        if self.kind == "wecom":
            code = (
                0 if problem is None else int(problem.split()[0]) if problem[0].isdigit() else 40000
            )
            status, out = 200, json.dumps({"errcode": code, "errmsg": problem or "ok"}).encode()
        elif self.kind == "slack":
            status, out = (200, b"ok") if problem is None else (400, problem.encode())
        else:
            status, out = (204, b"") if problem is None else (400, problem.encode())
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": out})


def serving(app: ChannelReceiver) -> contextlib.AbstractAsyncContextManager[ChannelReceiver]:
    def at(base: str) -> ChannelReceiver:
        app.url = f"{base}/{app.kind}"
        return app

    return running_asgi(at)


# -- the notifier ----------------------------------------------------------------------


@dataclass
class Alerts:
    events: list[Contract]  # alert events seen on tradebus.events
    start: Callable[[], Awaitable[Worker]]
    stop: Callable[[Worker], Awaitable[None]]

    def of(self, model: type[Contract]) -> list[Any]:
        return [e for e in self.events if isinstance(e, model)]

    async def wait(self, model: type[Contract], count: int, timeout: float = 20) -> list[Any]:
        async with asyncio.timeout(timeout):
            while len(self.of(model)) < count:
                await asyncio.sleep(0.05)
        return self.of(model)


@pytest.fixture
async def alerts(vhost: str, mongo: tuple[Any, Any]) -> AsyncIterator[Callable[..., Any]]:
    _, db = mongo
    stack = AsyncExitStack()
    events: list[Contract] = []

    async def listen(event: Contract, ctx: MessageContext) -> None:
        events.append(event)

    listener = Bus(bus_settings(vhost, service="listener"), registry=REGISTRY)
    listener.subscribe(
        queue="listener.alerts",
        message_types=[AlertRaised.message_type, AlertResolved.message_type],
        handler=listen,
    )

    async def make(**overrides: Any) -> Alerts:
        settings = NotifierSettings(
            alert_interval_seconds=0.2,
            alert_allowed_networks=["127.0.0.0/8"],
            webhook_allowed_networks=["127.0.0.0/8"],
            **overrides,
        )
        mongo_settings = MongoSettings.model_validate(
            {"MONGODB_URL": require_mongodb(), "MONGODB_DATABASE": db.name}
        )

        async def start() -> Worker:
            worker = await build(
                settings,
                bus_settings=bus_settings(vhost, service="notifier", max_attempts=2),
                mongo=mongo_settings,
            )
            await worker.bus.start()
            assert worker.on_start is not None
            await worker.on_start()
            return worker

        async def stop(worker: Worker) -> None:
            await worker.bus.stop()
            assert worker.on_stop is not None
            await worker.on_stop()

        await listener.start()
        stack.push_async_callback(listener.stop)
        return Alerts(events, start, stop)

    yield make
    await stack.aclose()


def recall_rule(**values: Any) -> dict[str, Any]:
    return {
        "name": "recall_below",
        "kind": "recall_below",
        "threshold": 0.6,
        "severity": "critical",
        "for_seconds": 0.5,
        "clear_for_seconds": 0.5,
        **values,
    }


async def settle(evaluations: int = 8, interval: float = 0.2) -> None:
    """Let the loop run a few more evaluations (what must NOT happen gets its chance)."""
    await asyncio.sleep(evaluations * interval)


async def test_an_alert_is_raised_once_and_resolved_once_on_every_channel(
    alerts, mongo, unique
) -> None:
    _, db = mongo
    tenant = f"acme-{unique}"
    async with (
        serving(ChannelReceiver("json")) as generic,
        serving(ChannelReceiver("slack")) as slack,
        serving(ChannelReceiver("wecom")) as wecom,
        running_receiver() as hook,
    ):
        a: Alerts = await alerts(
            alert_rules=[recall_rule()],
            alert_queues=[],
            alert_channels=[
                {"kind": "json", "url": generic.url, "name": "ops-json"},
                {"kind": "slack", "url": slack.url, "name": "ops-slack"},
                {"kind": "wecom", "url": wecom.url, "name": "ops-wecom"},
            ],
        )
        sub, secret = await WebhookRepository(db).create(
            tenant, url=hook.url, event_types=["tradebus.alert.#"], description=None
        )
        worker = await a.start()
        try:
            await db["rag_quality"].insert_one(
                {
                    "tenant_id": tenant,
                    "at": datetime.now(UTC),
                    "k": 5,
                    "recall_at_k": 0.2,
                    "mrr": 0.1,
                    "samples": 50,
                }
            )
            (raised,) = await a.wait(AlertRaised, 1)
            assert (raised.rule, raised.subject, raised.tenant_id) == (
                "recall_below",
                tenant,
                tenant,
            )
            assert (raised.value, raised.threshold, raised.severity) == (0.2, 0.6, "critical")
            # held for `for_seconds` before it was raised
            assert (raised.raised_at - raised.started_at).total_seconds() >= 0.5
            await settle()
        finally:
            await a.stop(worker)
        # A restart (state in MongoDB) does not raise it again.
        worker = await a.start()
        try:
            await settle()
            assert len(a.of(AlertRaised)) == 1
            await db["rag_quality"].insert_one(
                {
                    "tenant_id": tenant,
                    "at": datetime.now(UTC),
                    "k": 5,
                    "recall_at_k": 0.9,
                    "mrr": 0.8,
                    "samples": 50,
                }
            )
            (resolved,) = await a.wait(AlertResolved, 1)
            assert resolved.alert_id == raised.alert_id and resolved.value == 0.9
            await settle()
            for r in (generic, slack, wecom):
                async with asyncio.timeout(20):
                    while len(r.bodies) < 2:
                        await asyncio.sleep(0.05)
            await hook.wait_for(2)
            await settle(4)
        finally:
            await a.stop(worker)

    assert len(a.of(AlertRaised)) == 1 and len(a.of(AlertResolved)) == 1
    for r in (generic, slack, wecom):
        assert r.refused == [] and len(r.bodies) == 2, (r.kind, r.refused)
    assert [b["status"] for b in generic.bodies] == ["firing", "resolved"]
    assert {b["alert_id"] for b in generic.bodies} == {raised.alert_id}
    assert slack.bodies[0]["text"].startswith("[FIRING] critical: recall_below on " + tenant)
    assert slack.bodies[1]["text"].startswith("[RESOLVED]")
    assert "[FIRING]" in wecom.bodies[0]["markdown"]["content"]
    assert "[RESOLVED]" in wecom.bodies[1]["markdown"]["content"]
    # The subscribed tenant got both as Standard Webhooks CloudEvents, through the fanout.
    cloud = hook.verified(secret)
    assert [c["type"] for c in cloud] == ["tradebus.alert.raised.v1", "tradebus.alert.resolved.v1"]
    assert cloud[0]["data"]["alert_id"] == raised.alert_id and sub.id


async def test_queue_rules_read_the_broker_without_touching_messages(alerts, vhost, unique) -> None:
    queue = f"orders-{unique}.work"
    async with serving(ChannelReceiver("json")) as generic:
        a: Alerts = await alerts(
            alert_rules=[
                {
                    "name": "parked",
                    "kind": "parking_lot_depth",
                    "threshold": 0,
                    "for_seconds": 0,
                    "clear_for_seconds": 0.4,
                },
                {
                    "name": "no_consumer",
                    "kind": "consumer_missing",
                    "threshold": 1,
                    "for_seconds": 0.4,
                    "clear_for_seconds": 0,
                },
            ],
            alert_queues=[queue],
            alert_channels=[{"kind": "json", "url": generic.url}],
        )
        connection = await aio_pika.connect(vhost)
        async with connection:
            channel = await connection.channel()
            work = await channel.declare_queue(
                queue, durable=True, arguments={"x-queue-type": "quorum"}
            )
            lot = await channel.declare_queue(
                queue + ".dlq", durable=True, arguments={"x-queue-type": "quorum"}
            )
            await channel.default_exchange.publish(aio_pika.Message(b"{}"), routing_key=lot.name)
            worker = await a.start()
            try:
                raised = await a.wait(AlertRaised, 2)
                assert {(r.rule, r.subject, r.value) for r in raised} == {
                    ("parked", queue, 1.0),
                    ("no_consumer", queue, 0.0),
                }
                tag = await work.consume(_ack)  # a consumer appears
                await lot.purge()  # the operator dealt with the parked message
                resolved = await a.wait(AlertResolved, 2)
                assert {r.rule for r in resolved} == {"parked", "no_consumer"}
                await settle()
                assert len(a.of(AlertRaised)) == 2 and len(a.of(AlertResolved)) == 2
                await work.cancel(tag)
            finally:
                await a.stop(worker)
    assert len(generic.bodies) == 4 and generic.refused == []


async def _ack(message: aio_pika.abc.AbstractIncomingMessage) -> None:
    await message.ack()


async def test_two_replicas_raise_and_resolve_once_between_them(alerts, mongo, unique) -> None:
    _, db = mongo
    tenant = f"globex-{unique}"
    async with serving(ChannelReceiver("slack")) as slack:
        a: Alerts = await alerts(
            alert_rules=[recall_rule(for_seconds=0.3, clear_for_seconds=0.3)],
            alert_queues=[],
            alert_channels=[{"kind": "slack", "url": slack.url}],
        )
        workers = [await a.start(), await a.start()]  # two replicas, one lease
        try:
            await db["rag_quality"].insert_one(
                {
                    "tenant_id": tenant,
                    "at": datetime.now(UTC),
                    "k": 5,
                    "recall_at_k": 0.1,
                    "mrr": 0.1,
                    "samples": 50,
                }
            )
            await a.wait(AlertRaised, 1)
            await settle()
            await db["rag_quality"].insert_one(
                {
                    "tenant_id": tenant,
                    "at": datetime.now(UTC),
                    "k": 5,
                    "recall_at_k": 0.95,
                    "mrr": 0.9,
                    "samples": 50,
                }
            )
            await a.wait(AlertResolved, 1)
            async with asyncio.timeout(20):
                while len(slack.bodies) < 2:
                    await asyncio.sleep(0.05)
            await settle()
        finally:
            for w in workers:
                await a.stop(w)
    assert len(a.of(AlertRaised)) == 1 and len(a.of(AlertResolved)) == 1
    assert [b["text"][:10] for b in slack.bodies] == ["[FIRING] c", "[RESOLVED]"]

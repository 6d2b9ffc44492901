"""Webhook deliveries while notifier replicas are SIGKILLed mid-delivery: every event
reaches the receiver, signed, under the `webhook-id` it was given, however often a
worker died holding it (at-least-once: a receiver dedupes on that id)."""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from tests.integration.notifier.receiver import running_receiver
from tests.support.stack import Stack, isolated_stack

pytestmark = [pytest.mark.chaos, pytest.mark.timeout(300)]

EVENTS = 60
KILLS = 3
KEY = "tb_chaos_webhooks_" + uuid.uuid4().hex
NOTIFIERS = ("notifier-1", "notifier-2")


@pytest.fixture
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    async with isolated_stack(
        "chaos-webhooks",
        base_port=18_950,
        logs=tmp_path_factory.mktemp("chaos-webhook-logs"),
        env={
            "TRADEBUS_BOOTSTRAP_API_KEY": KEY,
            "TRADEBUS_WEBHOOK_ALLOWED_NETWORKS": json.dumps(["127.0.0.0/8"]),
        },
        services=[("gateway", "gateway"), *((name, "notifier") for name in NOTIFIERS)],
    ) as stack:
        yield stack


async def test_every_event_is_delivered_under_its_id_through_worker_kills(
    stack: Stack, figures: Callable[[str], None]
) -> None:
    rng = random.Random(7)
    async with running_receiver() as receiver:
        receiver.delay = 0.05  # deliveries are in flight when a worker dies
        async with httpx.AsyncClient(
            base_url=stack.processes["gateway"].url,
            headers={"Authorization": f"Bearer {KEY}"},
            timeout=30,
        ) as api:
            created = await api.post(
                "/v1/webhooks", json={"url": receiver.url, "event_types": ["tradebus.#"]}
            )
            assert created.status_code == 201, created.text
            wid, secret = created.json()["id"], created.json()["secret"]

            expected: set[str] = set()
            kills = 0
            for n in range(EVENTS):
                sent = await api.post(f"/v1/webhooks/{wid}/test")
                assert sent.status_code == 202, sent.text
                expected.add(sent.json()["delivery_id"])
                if n % (EVENTS // KILLS) == EVENTS // KILLS // 2:
                    name = rng.choice(NOTIFIERS)
                    await stack.kill(name)
                    kills += 1
                    await stack.start(name, wait=False)

            async with asyncio.timeout(120):
                while {r.headers["webhook-id"] for r in receiver.received} < expected:
                    await asyncio.sleep(0.2)

    ids = Counter(r.headers["webhook-id"] for r in receiver.received if r.status < 300)
    assert set(ids) == expected
    for request in receiver.received:  # every one signed with the subscription's secret
        Webhook(secret).verify(request.body, request.headers)
    redelivered = sum(n - 1 for n in ids.values())
    figures(
        f"webhooks under kills: {EVENTS} events, {kills} SIGKILLs, "
        f"{len(ids)} delivered, {redelivered} delivered again after a kill (same webhook-id)"
    )

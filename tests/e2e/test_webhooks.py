"""A downstream team's webhook journey through the gateway and the notifier, both real
processes: subscribe, receive a signed test event and verify it with `standardwebhooks`,
see the delivery in the log, replay it, rotate the secret."""

from __future__ import annotations

import asyncio
import json
import tempfile
import uuid
from pathlib import Path

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from tests.integration.notifier.receiver import running_receiver
from tests.support.stack import isolated_stack

pytestmark = pytest.mark.e2e

KEY = "tb_e2e_webhooks_" + uuid.uuid4().hex


async def _deliveries(api: httpx.AsyncClient, wid: str, state: str, count: int) -> list[dict]:
    async with asyncio.timeout(30):
        while True:
            items = (await api.get(f"/v1/webhooks/{wid}/deliveries")).json()["items"]
            if sum(i["state"] == state for i in items) >= count:
                return items
            await asyncio.sleep(0.2)


@pytest.mark.timeout(180)
async def test_subscribe_verify_replay_and_rotate_through_the_gateway() -> None:
    logs = Path(tempfile.mkdtemp(prefix="tradebus-e2e-webhooks-"))
    env = {
        "TRADEBUS_BOOTSTRAP_API_KEY": KEY,
        "TRADEBUS_WEBHOOK_ALLOWED_NETWORKS": json.dumps(["127.0.0.0/8"]),
    }
    async with (
        isolated_stack(
            "e2e-webhooks",
            base_port=18_900,
            logs=logs,
            env=env,
            services=[("gateway", "gateway"), ("notifier", "notifier")],
        ) as stack,
        running_receiver() as receiver,
        httpx.AsyncClient(
            base_url=stack.processes["gateway"].url,
            headers={"Authorization": f"Bearer {KEY}"},
            timeout=10,
        ) as api,
    ):
        created = await api.post(
            "/v1/webhooks", json={"url": receiver.url, "event_types": ["task.#"]}
        )
        assert created.status_code == 201, created.text
        wid, secret = created.json()["id"], created.json()["secret"]

        test = await api.post(f"/v1/webhooks/{wid}/test")
        assert test.status_code == 202, test.text
        (got,) = await receiver.wait_for(1, timeout=30)
        body = Webhook(secret).verify(got.body, got.headers)
        assert body["type"] == "tradebus.webhook.test.v1"
        assert body["data"]["subscription_id"] == wid
        (delivery,) = await _deliveries(api, wid, "delivered", 1)
        assert delivery["id"] == got.headers["webhook-id"] == test.json()["delivery_id"]

        replay = await api.post(f"/v1/webhooks/{wid}/deliveries/{delivery['id']}/replay")
        assert replay.status_code == 202, replay.text
        _, again = await receiver.wait_for(2, timeout=30)
        assert again.headers["webhook-id"] == delivery["id"]

        rotated = (await api.post(f"/v1/webhooks/{wid}/rotate-secret")).json()
        await api.post(f"/v1/webhooks/{wid}/test")
        *_, last = await receiver.wait_for(3, timeout=30)
        Webhook(rotated["secret"]).verify(last.body, last.headers)
        Webhook(secret).verify(last.body, last.headers)  # the overlap

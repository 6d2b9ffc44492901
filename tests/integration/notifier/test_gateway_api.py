"""The webhook API of the gateway, with the notifier behind it delivering for real."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from tradebus_contracts import DocumentIndexed

from .conftest import KEY_GLOBEX, Harness
from .receiver import running_receiver

pytestmark = pytest.mark.integration


async def _deliveries(api: httpx.AsyncClient, wid: str, count: int, state: str) -> list[dict]:
    async with asyncio.timeout(20):
        while True:
            items = (await api.get(f"/v1/webhooks/{wid}/deliveries")).json()["items"]
            if len([i for i in items if i["state"] == state]) >= count:
                return items
            await asyncio.sleep(0.1)


async def test_the_webhook_lifecycle_through_the_api(make_gateway, make_notifier) -> None:
    n: Harness = await make_notifier()
    gw = await make_gateway(webhook_allowed_networks=["127.0.0.0/8"])
    api = gw.api
    async with running_receiver() as receiver:
        created = await api.post(
            "/v1/webhooks",
            json={"url": receiver.url, "event_types": ["omnirag.document.#"], "description": "ERP"},
        )
        assert created.status_code == 201, created.text
        hook = created.json()
        wid, secret = hook["id"], hook["secret"]
        assert secret.startswith("whsec_") and hook["enabled"]

        # the secret is never shown again
        got = (await api.get(f"/v1/webhooks/{wid}")).json()
        assert "secret" not in got and secret not in str(got)
        listed = (await api.get("/v1/webhooks")).json()
        assert [h["id"] for h in listed["items"]] == [wid] and secret not in str(listed)

        # another tenant sees nothing of it
        other = {"Authorization": f"Bearer {KEY_GLOBEX}"}
        assert (await api.get(f"/v1/webhooks/{wid}", headers=other)).status_code == 404
        assert (await api.get("/v1/webhooks", headers=other)).json()["items"] == []

        # an event is delivered, signed
        await n.publish(
            DocumentIndexed(
                tenant_id="acme",
                document_id=uuid.uuid4().hex,
                task_id=uuid.uuid4().hex,
                title="Terms",
                chunk_count=1,
                indexed_at=datetime.now(UTC),
            ),
            tenant_id="acme",
        )
        await receiver.wait_for(1)
        (delivery,) = await _deliveries(api, wid, 1, "delivered")
        assert delivery["attempt"] == 1 and delivery["response_status"] == 200
        assert delivery["event_type"] == "omnirag.document.indexed.v1"

        # the test event goes the same way
        accepted = await api.post(f"/v1/webhooks/{wid}/test")
        assert accepted.status_code == 202
        await receiver.wait_for(2)
        assert (
            Webhook(secret).verify(receiver.received[1].body, receiver.received[1].headers)["type"]
            == "tradebus.webhook.test.v1"
        )
        assert receiver.received[1].headers["webhook-id"] == accepted.json()["delivery_id"]

        # replay: the same webhook-id again
        replay = await api.post(f"/v1/webhooks/{wid}/deliveries/{delivery['id']}/replay")
        assert replay.status_code == 202 and replay.json()["state"] == "pending"
        await receiver.wait_for(3)
        assert receiver.received[2].headers["webhook-id"] == delivery["id"]

        # rotation: a new secret, shown once; both sign for the overlap
        rotated = await api.post(f"/v1/webhooks/{wid}/rotate-secret")
        assert rotated.status_code == 200
        new_secret = rotated.json()["secret"]
        assert new_secret != secret and rotated.json()["previous_secret_expires_at"]
        await api.post(f"/v1/webhooks/{wid}/test")
        (*_, last) = await receiver.wait_for(4)
        Webhook(secret).verify(last.body, last.headers)
        Webhook(new_secret).verify(last.body, last.headers)

        # update and disable; a disabled webhook takes no test
        patched = await api.patch(
            f"/v1/webhooks/{wid}", json={"enabled": False, "event_types": ["task.#"]}
        )
        assert patched.status_code == 200
        assert patched.json()["enabled"] is False and patched.json()["event_types"] == ["task.#"]
        assert patched.json()["description"] == "ERP"
        assert (await api.post(f"/v1/webhooks/{wid}/test")).status_code == 409
        assert (await api.delete(f"/v1/webhooks/{wid}")).status_code == 204
        assert (await api.get(f"/v1/webhooks/{wid}")).status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"url": "ftp://hooks.example/", "event_types": ["#"]},
        {"url": "https://hooks.example/" + "a" * 3000, "event_types": ["#"]},
        {"url": "https://hooks.example/", "event_types": []},
        {"url": "https://hooks.example/", "event_types": ["Task.Status"]},
        {"url": "https://hooks.example/", "event_types": ["task..v1"]},
        {"url": "https://hooks.example/", "event_types": ["#"] * 51},
        {"url": "https://hooks.example/", "event_types": ["#"], "secret": "mine"},
    ],
)
async def test_invalid_subscriptions_are_refused(make_gateway, body: dict) -> None:
    gw = await make_gateway(webhook_allowed_networks=["127.0.0.0/8"])
    response = await gw.api.post("/v1/webhooks", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid_request"


async def test_deliveries_page_with_a_cursor(make_gateway, make_notifier) -> None:
    await make_notifier()
    gw = await make_gateway(webhook_allowed_networks=["127.0.0.0/8"])
    async with running_receiver() as receiver:
        hook = (
            await gw.api.post("/v1/webhooks", json={"url": receiver.url, "event_types": ["#"]})
        ).json()
        for _ in range(3):
            await gw.api.post(f"/v1/webhooks/{hook['id']}/test")
            await asyncio.sleep(0.01)
        await receiver.wait_for(3)
        first = (await gw.api.get(f"/v1/webhooks/{hook['id']}/deliveries?limit=2")).json()
        assert len(first["items"]) == 2 and first["next_cursor"]
        rest = (
            await gw.api.get(
                f"/v1/webhooks/{hook['id']}/deliveries",
                params={"limit": 2, "cursor": first["next_cursor"]},
            )
        ).json()
        assert len(rest["items"]) == 1 and rest["next_cursor"] is None
        ids = [d["id"] for d in first["items"] + rest["items"]]
        assert len(set(ids)) == 3


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",  # loopback
        "http://10.0.0.5/hook",  # private
        "http://169.254.169.254/latest/meta-data",  # cloud metadata
        "http://0.0.0.0:8000/hook",  # "this host"
        "http://localhost:9000/hook",  # a name that resolves to loopback
    ],
)
async def test_urls_inside_the_platform_are_refused_when_subscribed(make_gateway, url: str) -> None:
    gw = await make_gateway()  # no allowlist: production's default
    created = await gw.api.post("/v1/webhooks", json={"url": url, "event_types": ["#"]})
    assert created.status_code == 422, created.text
    assert created.json()["code"] == "url_refused"
    assert (await gw.api.get("/v1/webhooks")).json()["items"] == []


async def test_a_url_can_not_be_moved_inside_by_an_update(make_gateway) -> None:
    gw = await make_gateway()
    # a name that does not resolve (yet) is accepted: delivery checks it again
    created = await gw.api.post(
        "/v1/webhooks", json={"url": "https://hooks.invalid/tradebus", "event_types": ["#"]}
    )
    assert created.status_code == 201, created.text
    wid = created.json()["id"]
    moved = await gw.api.patch(f"/v1/webhooks/{wid}", json={"url": "http://10.1.2.3/x"})
    assert moved.status_code == 422 and moved.json()["code"] == "url_refused"
    assert (await gw.api.get(f"/v1/webhooks/{wid}")).json()[
        "url"
    ] == "https://hooks.invalid/tradebus"

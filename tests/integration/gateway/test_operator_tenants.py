"""Tenants and keys through the operator API: create, list (key ids only, never a key),
revoke; a revoked key stops working at once on the replica that revoked it and within
the directory's reload bound on another. The topology check names a deleted queue."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from urllib.parse import quote

import httpx
import pytest

from tests.support.contracts import DoWork
from tests.support.infra import MANAGEMENT_URL
from tradebus_gateway.auth import digest
from tradebus_messaging import MessageContext
from tradebus_messaging.queue_stats import vhost_of

from .conftest import KEY_OPERATOR, Gateway
from .operator_support import eventually, worker_bus

pytestmark = pytest.mark.integration

MakeGateway = Callable[..., Awaitable[Gateway]]


async def _ignore(_: DoWork, __: MessageContext) -> None:
    pass


def _client(gateway: Gateway, key: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=gateway.app),
        base_url="http://gateway",
        headers={"Authorization": f"Bearer {key}"},
    )


async def test_tenants_and_keys_are_created_listed_and_revoked(make_gateway: MakeGateway) -> None:
    gateway = await make_gateway(api_key_cache_seconds=0.5)
    other = await make_gateway(api_key_cache_seconds=0.5)  # a second replica
    api = gateway.operator

    created = await api.post("/v1/operator/tenants", json={"id": "newco", "name": "New Co"})
    assert created.status_code == 201, created.text
    assert created.json()["name"] == "New Co" and created.json()["keys"] == []
    assert (await api.post("/v1/operator/tenants", json={"id": "newco"})).status_code == 409
    assert (await api.post("/v1/operator/tenants", json={"id": "bad id"})).status_code == 422

    made = await api.post("/v1/operator/tenants/newco/keys", json={"label": "ci"})
    assert made.status_code == 201, made.text
    key, key_id = made.json()["api_key"], made.json()["key_id"]
    assert key_id == digest(key)[:12] and made.json()["label"] == "ci"
    missing = await api.post("/v1/operator/tenants/nobody/keys", json={})
    assert missing.status_code == 404
    for replica in (gateway, other):
        async with _client(replica, key) as tenant:
            assert (await tenant.get("/v1/tasks")).status_code == 200

    listed = await api.get("/v1/operator/tenants")
    assert listed.status_code == 200
    text = listed.text
    assert key not in text and digest(key) not in text  # only the 12-character id
    assert digest(KEY_OPERATOR) not in text
    [newco] = [t for t in listed.json()["items"] if t["id"] == "newco"]
    [shown] = newco["keys"]
    assert shown == {
        "key_id": key_id,
        "label": "ci",
        "role": "tenant",
        "tenant_id": "newco",
        "created_at": shown["created_at"],
        "revoked_at": None,
    }
    assert newco["usage"] == {"tasks_24h": {}} and newco["recent_errors"] == []
    assert newco["rate_limit"]
    page = (await api.get("/v1/operator/tenants", params={"limit": 1})).json()
    assert len(page["items"]) == 1 and page["next_cursor"]

    revoked = await api.post(f"/v1/operator/keys/{key_id}/revoke")
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["key_id"] == key_id and revoked.json()["revoked_at"]
    async with _client(gateway, key) as tenant:
        assert (await tenant.get("/v1/tasks")).status_code == 401  # at once, here

    async def refused_elsewhere() -> bool:
        async with _client(other, key) as tenant:
            return (await tenant.get("/v1/tasks")).status_code == 401

    await eventually(refused_elsewhere, timeout=15)  # within the reload bound there
    assert (await api.post("/v1/operator/keys/0123456789ab/revoke")).status_code == 404
    again = await api.post(f"/v1/operator/keys/{digest(key)}/revoke")  # the whole digest
    assert again.status_code == 200 and again.json()["revoked_at"]

    actions = [
        (r["action"], r["outcome"]) for r in (await api.get("/v1/operator/audit")).json()["items"]
    ]
    assert actions.count(("tenant.create", "ok")) == 1
    assert actions.count(("tenant.create", "refused")) == 2  # the 409 and the invalid id
    assert actions.count(("key.create", "ok")) == 1
    assert actions.count(("key.create", "refused")) == 1
    assert actions.count(("key.revoke", "ok")) == 2
    assert actions.count(("key.revoke", "refused")) == 1
    assert key not in json.dumps((await api.get("/v1/operator/audit")).json())


async def test_operator_keys_are_made_by_operators_and_work_on_operator_routes(
    make_gateway: MakeGateway,
) -> None:
    gateway = await make_gateway()
    made = await gateway.operator.post("/v1/operator/keys", json={"label": "night shift"})
    assert made.status_code == 201, made.text
    key = made.json()["api_key"]
    async with _client(gateway, key) as night:
        assert (await night.get("/v1/operator/overview")).status_code == 200
        assert (await night.get("/v1/tasks")).json()["code"] == "operator_key"
        await night.post(f"/v1/operator/keys/{made.json()['key_id']}/revoke")
        assert (await night.get("/v1/operator/overview")).status_code == 401
    [row] = (await gateway.operator.get("/v1/operator/audit?action=key.revoke")).json()["items"]
    assert row["actor"]["label"] == "night shift"  # it revoked itself


async def test_topology_drift_shows_a_deleted_queue(
    make_gateway: MakeGateway, vhost: str, unique: str
) -> None:
    queue = f"it-{unique}.work"
    gateway = await make_gateway(operator_endpoints=[queue])
    bus = worker_bus(vhost, f"it-{unique}")
    bus.subscribe(queue=queue, message_types=[DoWork.message_type], handler=_ignore)
    await bus.start()
    await bus.stop()

    healthy = (await gateway.operator.get("/v1/operator/topology")).json()
    assert not [d for d in healthy["drift"] if queue in d["name"]], healthy["drift"]
    names = {(d["kind"], d["name"]) for d in healthy["declared"]}
    assert {("queue", queue), ("queue", f"{queue}.dlq"), ("exchange", "tradebus.dlx")} <= names

    url = httpx.URL(MANAGEMENT_URL)
    async with httpx.AsyncClient(
        base_url=str(url.copy_with(username=None, password=None)),
        auth=(url.username or "guest", url.password or "guest"),
    ) as management:
        path = f"/api/queues/{quote(vhost_of(vhost), safe='')}/{quote(queue, safe='')}"
        assert (await management.delete(path)).status_code in (200, 204)

    drifted = (await gateway.operator.get("/v1/operator/topology")).json()
    assert drifted["ok"] is False
    [missing] = [d for d in drifted["drift"] if d["name"] == queue]
    assert missing["kind"] == "queue" and missing["problem"] == "missing"
    assert missing["actual"] is None

"""Roles: a tenant's key is 403 `forbidden` on every operator route (and a refused
write is audited), an operator key is 403 `operator_key` on every tenant route, and
neither gets in without a key (401). Tasks of every tenant, filtered and paged, and an
operator's cancel, audited whichever way it ends."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from tradebus_contracts import TaskStatus

from .conftest import KEY_GLOBEX, Gateway

pytestmark = pytest.mark.integration

OPERATOR_READS = [
    "/v1/operator/overview",
    "/v1/operator/tasks",
    "/v1/operator/tasks/t-1",
    "/v1/operator/parking",
    "/v1/operator/parking/x.dlq/messages",
    "/v1/operator/tenants",
    "/v1/operator/topology",
    "/v1/operator/webhooks",
    "/v1/operator/audit",
    "/v1/schedules",
]
OPERATOR_WRITES = [
    ("/v1/operator/tasks/t-1/cancel", None, "task.cancel"),
    ("/v1/operator/parking/x.dlq/replay", {"all": True}, "parking.replay"),
    ("/v1/operator/parking/x.dlq/purge", {"all": True, "confirm": "x.dlq"}, "parking.purge"),
    ("/v1/operator/tenants", {"id": "newco"}, "tenant.create"),
    ("/v1/operator/tenants/acme/keys", {"label": "x"}, "key.create"),
    ("/v1/operator/keys", {"label": "x"}, "key.create"),
    ("/v1/operator/keys/0123456789ab/revoke", None, "key.revoke"),
]
TENANT_ROUTES = [
    ("GET", "/v1/tasks"),
    ("GET", "/v1/rag/documents"),
    ("GET", "/v1/webhooks"),
    ("POST", "/v1/tasks/t-1/cancel"),
]


async def test_tenant_keys_are_forbidden_on_operator_routes(make_gateway: Any) -> None:
    gateway: Gateway = await make_gateway()
    for path in OPERATOR_READS:
        answer = await gateway.api.get(path)
        assert answer.status_code == 403, (path, answer.text)
        assert answer.json()["code"] == "forbidden"
    for path, body, _ in OPERATOR_WRITES:
        answer = await gateway.api.post(path, json=body)
        assert answer.status_code == 403 and answer.json()["code"] == "forbidden", path
    async with _client(gateway, None) as anonymous:
        for path in OPERATOR_READS:
            assert (await anonymous.get(path)).status_code == 401, path
    audit = (await gateway.operator.get("/v1/operator/audit", params={"limit": 200})).json()
    refused = sorted(r["action"] for r in audit["items"] if r["outcome"] == "refused")
    assert refused == sorted(action for _, _, action in OPERATOR_WRITES)
    assert await gateway.state.db["tenants"].find_one({"_id": "newco"}) is None


async def test_operator_keys_are_refused_on_tenant_routes(make_gateway: Any) -> None:
    gateway: Gateway = await make_gateway()
    for method, path in TENANT_ROUTES:
        answer = await gateway.operator.request(method, path)
        assert answer.status_code == 403, (path, answer.text)
        assert answer.json()["code"] == "operator_key"
    assert (await gateway.api.get("/v1/tasks")).status_code == 200


async def test_tasks_of_every_tenant_filter_page_and_cancel(
    make_gateway: Callable[..., Awaitable[Gateway]],
) -> None:
    gateway = await make_gateway()
    repo, api = gateway.state.tasks, gateway.operator
    acme = [(await repo.create(tenant_id="acme", kind="rag.ingest"))[0] for _ in range(2)]
    globex, _ = await repo.create(tenant_id="globex", kind="kb.check")
    await repo.transition("globex", globex.id, TaskStatus.RUNNING)

    every = (await api.get("/v1/operator/tasks")).json()
    assert [t["id"] for t in every["items"]] == [globex.id, acme[1].id, acme[0].id]
    assert {t["tenant_id"] for t in every["items"]} == {"acme", "globex"}
    only = (await api.get("/v1/operator/tasks", params={"tenant": "globex"})).json()["items"]
    assert [t["id"] for t in only] == [globex.id]
    by_kind = (await api.get("/v1/operator/tasks", params={"kind": "rag.ingest"})).json()
    assert [t["id"] for t in by_kind["items"]] == [acme[1].id, acme[0].id]
    running = (await api.get("/v1/operator/tasks", params={"status": "running"})).json()
    assert [t["id"] for t in running["items"]] == [globex.id]
    after = acme[0].created_at.isoformat()
    newer = (await api.get("/v1/operator/tasks", params={"created_after": after})).json()
    assert acme[0].id not in {t["id"] for t in newer["items"]}

    seen, cursor = [], None
    while True:
        params = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        page = (await api.get("/v1/operator/tasks", params=params)).json()
        seen += [t["id"] for t in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [globex.id, acme[1].id, acme[0].id]
    bad = await api.get("/v1/operator/tasks", params={"cursor": "not-a-cursor"})
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_cursor"

    cancelled = await api.post(f"/v1/operator/tasks/{globex.id}/cancel")
    assert cancelled.status_code == 202, cancelled.text
    assert cancelled.json()["status"] == "cancelled" and cancelled.json()["tenant_id"] == "globex"
    again = await api.post(f"/v1/operator/tasks/{globex.id}/cancel")
    assert again.status_code == 409
    assert (await api.post("/v1/operator/tasks/nope/cancel")).status_code == 404
    detail = (await api.get(f"/v1/operator/tasks/{globex.id}")).json()
    assert [h["status"] for h in detail["history"]] == ["queued", "running", "cancelled"]
    assert detail["history"][-1]["reason"] == "cancelled by an operator"
    assert detail["result"] is None
    assert (await api.get("/v1/operator/tasks/nope")).status_code == 404

    audit = (await api.get("/v1/operator/audit", params={"action": "task.cancel"})).json()
    outcomes = [(r["target"], r["outcome"]) for r in audit["items"]]
    assert outcomes == [("nope", "refused"), (globex.id, "refused"), (globex.id, "ok")]
    assert audit["items"][2]["details"]["tenant_id"] == "globex"
    # the tenant's own view agrees: cancelled by someone else, still its task
    async with _client(gateway, KEY_GLOBEX) as tenant:
        mine = (await tenant.get(f"/v1/tasks/{globex.id}")).json()
    assert mine["status"] == "cancelled"


def _client(gateway: Gateway, key: str | None) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=gateway.app),
        base_url="http://gateway",
        headers={"Authorization": f"Bearer {key}"} if key else {},
    )

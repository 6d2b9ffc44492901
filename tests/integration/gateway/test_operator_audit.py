"""The audit log as evidence: an operator write FastAPI refuses before the route runs
(an invalid body, a purge without its confirmation) is recorded `refused`; names and
labels that could forge a printed line are refused at the door, and whatever reaches a
record by another way (a key labelled from the command line, a thousand message ids) is
stored escaped and bounded."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from tradebus_gateway.auth import ApiKeyRepository

from .conftest import Gateway

pytestmark = pytest.mark.integration

FORGED = "ops\n2026-12-03T08:00:00 root key.revoke ok\u202e"


async def _audit(gateway: Gateway, action: str) -> list[dict[str, Any]]:
    answer = await gateway.operator.get("/v1/operator/audit", params={"action": action})
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


async def test_refused_bodies_are_audited_as_refusals(
    make_gateway: Callable[..., Awaitable[Gateway]],
) -> None:
    gateway = await make_gateway()
    api = gateway.operator
    no_confirm = await api.post("/v1/operator/parking/x.dlq/purge", json={"all": True})
    assert no_confirm.status_code == 422
    [purge] = await _audit(gateway, "parking.purge")
    assert (purge["outcome"], purge["target"], purge["details"]["error"]) == (
        "refused",
        "x.dlq",
        "invalid",
    )
    assert purge["actor"]["label"] == "it operator"
    for body in ({"id": "newco", "name": "Newco\nInc"}, {"id": "bad id"}):
        answer = await api.post("/v1/operator/tenants", json=body)
        assert answer.status_code == 422, body
    label = await api.post("/v1/operator/keys", json={"label": FORGED})
    assert label.status_code == 422
    tenants = await _audit(gateway, "tenant.create")
    assert [t["outcome"] for t in tenants] == ["refused", "refused"]
    assert await gateway.state.db["tenants"].find_one({"_id": "newco"}) is None
    [key] = await _audit(gateway, "key.create")
    assert key["outcome"] == "refused" and key["details"]["fields"]


async def test_what_reaches_a_record_is_escaped_and_bounded(
    make_gateway: Callable[..., Awaitable[Gateway]],
) -> None:
    gateway = await make_gateway()
    key = "tb_it_forger_" + gateway.state.db.name
    # a label written straight to the database (`tradebus keys create --local`)
    await ApiKeyRepository(gateway.state.db).add_operator_key(key, label=FORGED)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=gateway.app),
        base_url="http://gateway",
        headers={"Authorization": f"Bearer {key}"},
    ) as forger:
        ids = [f"m-{i:04d}-" + "x" * 300 for i in range(1000)]
        answer = await forger.post("/v1/operator/parking/x.dlq/replay", json={"message_ids": ids})
        assert answer.status_code == 422  # ids of at most 200 characters
        ids = [f"m-{i:04d}-" + "x" * 190 for i in range(1000)]
        answer = await forger.post("/v1/operator/parking/x.dlq/replay", json={"message_ids": ids})
        assert answer.status_code == 404  # no such lot: refused, after the record
    refused = await _audit(gateway, "parking.replay")
    assert [r["outcome"] for r in refused] == ["refused", "refused"]
    record = refused[0]
    label = record["actor"]["label"]
    assert "\n" not in label and "\u202e" not in label
    assert label.startswith("ops\\u000a2026-12-03") and label.endswith("\\u202e")
    kept = record["details"]["message_ids"]
    assert len(kept) == 51 and kept[-1] == "… 950 more"
    assert all(len(i) <= 201 for i in kept)
    stored = await gateway.state.db["audit"].find_one({"_id": record["id"]})
    assert stored is not None and len(str(stored)) < 20_000

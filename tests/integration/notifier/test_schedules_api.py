"""`GET /v1/schedules` on the gateway (in-process, real MongoDB): the configured schedules
with their last run, as the scheduler's run records say, and their next slot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tradebus_storage import ScheduleRuns, ScheduleSpec

pytestmark = pytest.mark.integration

SCHEDULES = (
    '[{"name": "kb-check", "cron": "30 2 * * *", "command": "omnirag.kb.check.v1",'
    '  "timezone": "Asia/Shanghai", "payload": {"tenant_id": "acme"}},'
    ' {"name": "sweeps", "cron": "15 * * * *", "command": "notifier.sweeps.run.v1",'
    '  "enabled": false}]'
)


async def test_schedules_show_their_last_and_next_runs(
    make_gateway: Any, mongo: tuple[Any, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRADEBUS_SCHEDULES", SCHEDULES)
    monkeypatch.setenv("TRADEBUS_SCHEDULE_CATCH_UP_SECONDS", "900")
    runs = ScheduleRuns(mongo[1])
    spec = ScheduleSpec(
        name="kb-check", cron="30 2 * * *", command="x.y.z.v1", timezone="Asia/Shanghai"
    )
    now = datetime.now(UTC)
    older, latest = spec.latest_slot(now - timedelta(days=1)), spec.latest_slot(now)
    for slot in (older, latest):
        assert await runs.claim("kb-check", slot, holder="n-1", now=now, catch_up=True)
    assert await runs.mark_published("kb-check", latest, now=now)
    gateway = await make_gateway()

    # The platform's jobs: an operator's business, not a tenant's.
    refused = await gateway.api.get("/v1/schedules")
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    answer = await gateway.operator.get("/v1/schedules")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["catch_up_seconds"] == 900
    kb, sweeps = body["items"]
    assert kb["name"] == "kb-check" and kb["timezone"] == "Asia/Shanghai"
    assert kb["command"] == "omnirag.kb.check.v1" and kb["enabled"] is True
    assert "payload" not in kb  # may name a tenant
    assert kb["last_run"]["status"] == "published" and kb["last_run"]["catch_up"] is True
    assert datetime.fromisoformat(kb["last_run"]["slot"]) == latest
    assert datetime.fromisoformat(kb["next_run"]) == spec.next_slot(datetime.now(UTC))
    # 02:30 in Shanghai is 18:30 UTC the day before.
    assert datetime.fromisoformat(kb["next_run"]).astimezone(UTC).hour == 18
    assert sweeps == {
        "name": "sweeps",
        "cron": "15 * * * *",
        "timezone": "UTC",
        "command": "notifier.sweeps.run.v1",
        "enabled": False,
        "last_run": None,
        "next_run": None,
    }

    anonymous = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=gateway.app), base_url="http://gateway"
    )
    async with anonymous:
        assert (await anonymous.get("/v1/schedules")).status_code == 401

    document = (await gateway.api.get("/openapi.json")).json()
    operation = document["paths"]["/v1/schedules"]["get"]
    assert operation["security"] and {"401", "403"} <= set(operation["responses"])
    example = operation["responses"]["200"]["content"]["application/json"]["example"]
    assert example["items"][0]["name"] == "kb-check"

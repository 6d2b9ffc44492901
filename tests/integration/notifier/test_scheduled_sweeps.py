"""The notifier's own scheduled job: the hourly sweep (`notifier.sweeps.run.v1`) removes
a rotated-out signing secret past its overlap and keeps the current one and one still
overlapping; a notifier built as in production fires its schedule and consumes it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.integration.dealbrain.conftest import eventually
from tests.support.infra import require_mongodb
from tradebus_contracts import RunSweeps
from tradebus_messaging import BusSettings
from tradebus_notifier.app import build
from tradebus_notifier.settings import NotifierSettings
from tradebus_storage import MongoSettings, ScheduleSettings, ScheduleSpec

pytestmark = pytest.mark.integration


async def test_the_sweep_removes_expired_signing_secrets_only(
    make_notifier: Any, mongo: tuple[Any, Any]
) -> None:
    db = mongo[1]
    harness = await make_notifier()
    repo = harness.subscriptions
    expired, _ = await repo.create(
        "acme", url="https://a.example/h", event_types=["#"], description=None
    )
    overlapping, _ = await repo.create(
        "acme", url="https://b.example/h", event_types=["#"], description=None
    )
    await repo.rotate_secret("acme", expired.id, overlap=timedelta(hours=1))
    await repo.rotate_secret("acme", overlapping.id, overlap=timedelta(hours=1))
    past = datetime.now(UTC) - timedelta(minutes=1)
    await db["webhook_subscriptions"].update_one(
        {"_id": expired.id}, {"$set": {"secrets.1.expires_at": past}}
    )
    before = await db["webhook_subscriptions"].find_one({"_id": expired.id})
    assert len(before["secrets"]) == 2 and before["secrets"][1]["expires_at"] is not None

    await harness.publisher.publish(RunSweeps(slot=datetime.now(UTC).replace(microsecond=0)))

    async def swept() -> bool:
        doc = await db["webhook_subscriptions"].find_one({"_id": expired.id})
        return len(doc["secrets"]) == 1

    await eventually(swept, within=15)
    kept = await db["webhook_subscriptions"].find_one({"_id": expired.id})
    assert kept["secrets"][0]["expires_at"] is None  # the current secret
    still = await db["webhook_subscriptions"].find_one({"_id": overlapping.id})
    assert len(still["secrets"]) == 2


async def test_a_built_notifier_fires_its_schedule_and_sweeps(
    vhost: str, mongo: tuple[Any, Any]
) -> None:
    """The composition root as production runs it: the scheduler starts with the worker
    and its sweeps command comes back to the notifier's own consumer."""
    db = mongo[1]
    schedules = ScheduleSettings(
        schedules=[
            ScheduleSpec(name="sweeps", cron="* * * * * *", command="notifier.sweeps.run.v1"),
            ScheduleSpec(
                name="off", cron="* * * * * *", command="notifier.sweeps.run.v1", enabled=False
            ),
        ]
    )
    worker = await build(
        NotifierSettings(scheduler_tick_seconds=0.2),
        bus_settings=BusSettings.model_validate(
            {"RABBITMQ_URL": vhost, "service": "notifier", "shutdown_grace_seconds": 1}
        ),
        mongo=MongoSettings.model_validate(
            {"MONGODB_URL": require_mongodb(), "MONGODB_DATABASE": db.name}
        ),
        schedules=schedules,
    )
    assert worker.on_start is not None and worker.on_stop is not None
    await worker.on_start()
    await worker.bus.start()
    try:
        runs = await eventually(
            lambda: db["schedule_runs"].find({"status": "published"}).to_list(), within=15
        )
        assert {r["job"] for r in runs} == {"sweeps"}
        assert worker.bus.readiness()["consumer:notifier.sweeps"]
    finally:
        await worker.bus.stop()
        await worker.on_stop()

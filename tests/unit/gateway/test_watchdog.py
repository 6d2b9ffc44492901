"""The watchdog's policy comes from settings; its loop logs every error and goes on."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from structlog.testing import capture_logs

from tradebus_gateway.settings import GatewaySettings
from tradebus_gateway.watchdog import Watchdog, WatchdogPolicy
from tradebus_storage import REVIVABLE_CODES


def test_policy_from_settings_with_a_deadline_per_kind(monkeypatch) -> None:
    monkeypatch.setenv("TRADEBUS_GATEWAY_TASK_DEADLINES", '{"rag.ingest": 7200, "x.y": 5}')
    monkeypatch.setenv("TRADEBUS_GATEWAY_TASK_DEADLINE_SECONDS", "600")
    policy = WatchdogPolicy.from_settings(GatewaySettings())
    assert policy.deadline_for("rag.ingest") == timedelta(hours=2)
    assert policy.deadline_for("x.y") == timedelta(seconds=5)
    assert policy.deadline_for("anything.else") == timedelta(seconds=600)
    assert policy.stuck_after == timedelta(seconds=60)
    assert policy.republish_after == timedelta(seconds=1800)


def test_defaults_give_ingest_an_hour() -> None:
    policy = WatchdogPolicy.from_settings(GatewaySettings())
    assert policy.deadline_for("rag.ingest") == timedelta(hours=1)


def test_every_fault_reason_and_the_deadline_are_revivable() -> None:
    assert {"permanent", "retries_exhausted", "timeout", "deadline_exceeded"} <= REVIVABLE_CODES
    assert "corrupt_document" not in REVIVABLE_CODES


class FlakyLeases:
    def __init__(self) -> None:
        self.calls = 0
        self.released = False

    async def acquire(self, name: str, holder: str, ttl: timedelta) -> bool:
        self.calls += 1
        if self.calls == 1:
            raise ConnectionError("MongoDB away")
        return True

    async def release(self, name: str, holder: str) -> None:
        self.released = True


class BrokenTasks:
    async def stuck_queued(self, *_: Any) -> list[Any]:
        raise TimeoutError("query timed out")

    unanswered = stuck_queued

    async def overdue(self, *_: Any) -> list[Any]:
        return []

    async def unsettled_batches(self, *_: Any) -> list[Any]:
        return []


class Connected:
    connected = True


async def test_the_loop_logs_errors_and_keeps_running() -> None:
    leases = FlakyLeases()
    policy = WatchdogPolicy(timedelta(0), timedelta(0), timedelta(hours=1))
    watchdog = Watchdog(Connected(), BrokenTasks(), policy)  # type: ignore[arg-type]
    with capture_logs() as logs:
        loop = asyncio.create_task(watchdog.run(leases, holder="h", interval=0.01))  # type: ignore[arg-type]
        async with asyncio.timeout(5):
            while leases.calls < 3:
                await asyncio.sleep(0.01)
        loop.cancel()
        await asyncio.gather(loop, return_exceptions=True)
    events = [(e["event"], e["log_level"]) for e in logs]
    assert ("watchdog pass failed; retrying next interval", "error") in events
    assert ("watchdog query failed", "error") in events
    assert any(e["event"] == "watchdog run" and e["errors"] == 2 for e in logs)
    assert leases.released

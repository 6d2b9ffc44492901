"""The running gateway exports request metrics by route template and, from the one
replica holding the lease, the broker's queue figures."""

from __future__ import annotations

import asyncio
import re
import uuid

import pytest


def sample(text: str, name: str, **labels: str) -> float | None:
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        series, value = line.rsplit(" ", 1)
        found = dict(re.findall(r'(\w+)="([^"]*)"', series))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(value)
    return None


async def test_request_metrics_and_queue_stats_on_metrics(
    make_gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRADEBUS_QUEUE_STATS_INTERVAL_SECONDS", "0.2")
    gateway = await make_gateway()
    for _ in range(2):
        missing = await gateway.api.get(f"/v1/tasks/tsk_{uuid.uuid4().hex}")
        assert missing.status_code == 404

    async with asyncio.timeout(30):  # the broker emits queue figures every few seconds
        while True:
            text = (await gateway.api.get("/metrics")).text
            consumers = sample(text, "tradebus_queue_consumers", queue="gateway.task-faults")
            if consumers == 1:
                break
            await asyncio.sleep(0.2)
    count = sample(
        text,
        "tradebus_http_request_seconds_count",
        method="GET",
        route="/v1/tasks/{task_id}",
        status="404",
    )
    assert count is not None and count >= 2
    assert "/v1/tasks/tsk_" not in text  # raw paths never become labels
    assert sample(text, "tradebus_queue_ready_messages", queue="gateway.task-faults.dlq") == 0
    assert sample(text, "tradebus_queue_stats_last_success_timestamp_seconds") is None  # no labels
    assert "tradebus_queue_stats_last_success_timestamp_seconds " in text

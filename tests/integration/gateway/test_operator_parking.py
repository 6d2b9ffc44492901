"""The operator parking routes against real parked messages: a worker in the test's
vhost parks them (permanent failures, and one whose retries ran out), the gateway fails
their tasks; the operator lists, groups, purges (only with the lot's name typed again)
and replays them, by id, by reason and all, and each replayed task revives and
succeeds once the worker is mended. Every write leaves an audit row."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import pytest

from tests.support.contracts import DoWork
from tradebus_contracts import TaskStatus
from tradebus_messaging import Bus

from .conftest import Gateway
from .operator_support import Worker, eventually, worker_bus

pytestmark = pytest.mark.integration


@dataclass
class Parked:
    gateway: Gateway
    worker: Worker
    lot: str
    tasks: dict[str, str]  # key -> task id

    async def count(self) -> int:
        """Parked now. Messages an operation looked at but left return to the lot when
        its channel closes, which the broker applies a moment later: poll, via `has`."""
        lots = (await self.gateway.operator.get("/v1/operator/parking")).json()["lots"]
        return next(lot["count"] for lot in lots if lot["queue"] == self.lot)

    async def has(self, n: int) -> None:
        await eventually(lambda: _count_is(self, n), timeout=30)

    async def status(self, key: str) -> TaskStatus | None:
        task = await self.gateway.state.tasks.get("acme", self.tasks[key])
        return task.status if task else None


@pytest.fixture
async def parked(
    make_gateway: Callable[..., Awaitable[Gateway]],
    vhost: str,
    unique: str,
    request: pytest.FixtureRequest,
) -> AsyncIterator[Parked]:
    """Four parked messages; `indirect` parametrization passes gateway settings."""
    queue = f"it-{unique}.work"
    settings = getattr(request, "param", {})
    gateway = await make_gateway(operator_endpoints=[queue], **settings)
    worker = Worker(gateway.state.tasks)
    bus: Bus = worker_bus(vhost, f"it-{unique}")
    bus.subscribe(queue=queue, message_types=[DoWork.message_type], handler=worker)
    await bus.start()
    tasks = {}
    for key, fail_times in (("a", 0), ("b", 0), ("c", 0), ("d", 9)):
        task, _ = await gateway.state.tasks.create(tenant_id="acme", kind="test.work")
        tasks[key] = task.id
        await bus.publish(DoWork(key=key, fail_times=fail_times), tenant_id="acme", task_id=task.id)
    setup = Parked(gateway, worker, f"{queue}.dlq", tasks)
    await eventually(lambda: _all_failed(setup), timeout=60)
    await setup.has(4)
    try:
        yield setup
    finally:
        await bus.stop()


async def _all_failed(setup: Parked) -> bool:
    return all([await setup.status(k) is TaskStatus.FAILED for k in setup.tasks])


async def _count_is(setup: Parked, n: int) -> bool:
    return await setup.count() == n


async def test_lots_list_their_messages_grouped_by_reason(parked: Parked) -> None:
    lots = (await parked.gateway.operator.get("/v1/operator/parking")).json()["lots"]
    [lot] = [lot for lot in lots if lot["queue"] == parked.lot]
    assert lot["source"] == parked.lot.removesuffix(".dlq") and lot["count"] == 4
    assert [(g["reason"], g["count"]) for g in lot["groups"]] == [
        ("permanent", 3),
        ("retries_exhausted", 1),
    ]
    assert lot["groups"][1]["exception"] == "builtins.RuntimeError"

    answer = await parked.gateway.operator.get(
        f"/v1/operator/parking/{parked.lot}/messages", params={"reason": "retries_exhausted"}
    )
    assert answer.status_code == 200, answer.text
    [message] = answer.json()["items"]
    assert message["tenant_id"] == "acme" and message["task_id"] == parked.tasks["d"]
    assert message["type"] == DoWork.message_type and message["attempts"] == 2
    assert "transient failure of d" in message["message"]
    assert '"key":"d"' in message["body_preview"].replace(" ", "")
    assert message["headers"]["x-tradebus-fault-reason"] == "retries_exhausted"
    assert message["parked_at"]

    limited = await parked.gateway.operator.get(
        f"/v1/operator/parking/{parked.lot}/messages", params={"limit": 2}
    )
    assert len(limited.json()["items"]) == 2
    await parked.has(4)  # browsing removes nothing


async def test_purge_needs_the_lot_typed_again_and_replays_revive_their_tasks(
    parked: Parked,
) -> None:
    api, lot = parked.gateway.operator, parked.lot
    ids = await _message_ids(parked)

    wrong = await api.post(f"/v1/operator/parking/{lot}/purge", json={"all": True, "confirm": "x"})
    assert wrong.status_code == 422 and wrong.json()["code"] == "confirm_mismatch"
    await parked.has(4)

    one = {"message_ids": [ids["a"]], "confirm": lot}
    assert (await api.post(f"/v1/operator/parking/{lot}/purge", json=one)).json() == {"purged": 1}
    await parked.has(3)

    parked.worker.broken = False
    by_id = await api.post(f"/v1/operator/parking/{lot}/replay", json={"message_ids": [ids["b"]]})
    assert by_id.status_code == 200 and by_id.json()["replayed"] == 1
    await eventually(lambda: _succeeded(parked, "b"))
    by_reason = await api.post(
        f"/v1/operator/parking/{lot}/replay", json={"reason": "retries_exhausted"}
    )
    assert by_reason.json()["replayed"] == 1
    await eventually(lambda: _succeeded(parked, "d"))
    assert await parked.status("c") is TaskStatus.FAILED  # not selected: still parked
    everything = await api.post(f"/v1/operator/parking/{lot}/replay", json={"all": True})
    assert everything.json() == {"replayed": 1, "limit_reached": False, "left_in_lot": 0}
    await eventually(lambda: _succeeded(parked, "c"))
    assert await parked.status("a") is TaskStatus.FAILED  # purged: gone for good
    await parked.has(0)
    revived = await parked.gateway.state.tasks.get("acme", parked.tasks["b"])
    assert revived is not None and revived.revivals == 1

    audit = (await api.get("/v1/operator/audit", params={"limit": 200})).json()["items"]
    rows = [(r["action"], r["outcome"]) for r in audit if r["target"] == lot]
    assert rows.count(("parking.purge", "refused")) == 1
    assert rows.count(("parking.purge", "ok")) == 1
    assert rows.count(("parking.replay", "ok")) == 3
    refused = next(r for r in audit if r["outcome"] == "refused")
    assert refused["details"]["error"] == "confirm_mismatch"
    assert refused["actor"] == {"key_id": refused["actor"]["key_id"], "label": "it operator"}
    assert len(refused["actor"]["key_id"]) == 12


@pytest.mark.parametrize("parked", [{"operator_replay_limit": 3}], indirect=True)
async def test_one_replay_sends_back_a_bounded_number_and_says_so(parked: Parked) -> None:
    api, lot = parked.gateway.operator, parked.lot
    parked.worker.broken = False
    first = await api.post(f"/v1/operator/parking/{lot}/replay", json={"all": True})
    assert first.json() == {"replayed": 3, "limit_reached": True, "left_in_lot": 1}
    await parked.has(1)
    rest = await api.post(f"/v1/operator/parking/{lot}/replay", json={"all": True})
    assert rest.json() == {"replayed": 1, "limit_reached": False, "left_in_lot": 0}
    await eventually(lambda: _all_succeeded(parked), timeout=60)


async def _all_succeeded(parked: Parked) -> bool:
    return all([await _succeeded(parked, key) for key in parked.tasks])


async def test_only_parking_lots_reach_the_broker(parked: Parked) -> None:
    api = parked.gateway.operator
    source = parked.lot.removesuffix(".dlq")
    for lot, status in ((f"{source}.nope.dlq", 404), (source, 422), ("tradebus.delay.00", 422)):
        answer = await api.get(f"/v1/operator/parking/{lot}/messages")
        assert answer.status_code == status, (lot, answer.text)
        replay = await api.post(f"/v1/operator/parking/{lot}/replay", json={"all": True})
        assert replay.status_code == status, (lot, replay.text)
    purge = await api.post(
        f"/v1/operator/parking/{source}.nope.dlq/purge",
        json={"all": True, "confirm": f"{source}.nope.dlq"},
    )
    assert purge.status_code == 404
    both = await api.post(
        f"/v1/operator/parking/{parked.lot}/replay", json={"all": True, "reason": "permanent"}
    )
    assert both.status_code == 422  # exactly one selection
    await parked.has(4)


async def _message_ids(parked: Parked) -> dict[str, str]:
    answer = await parked.gateway.operator.get(f"/v1/operator/parking/{parked.lot}/messages")
    by_task = {v: k for k, v in parked.tasks.items()}
    return {by_task[m["task_id"]]: m["message_id"] for m in answer.json()["items"]}


async def _succeeded(parked: Parked, key: str) -> bool:
    return await parked.status(key) is TaskStatus.SUCCEEDED

"""Cron slots, catch-up selection and the claim logic, with a fake clock and an in-memory
claim store that keeps the store's one rule (a second claim of a slot fails)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from tradebus_contracts import REGISTRY, CheckKnowledgeBase, Contract, Envelope, RunSweeps
from tradebus_notifier.adapters.cron_scheduler import CronScheduler
from tradebus_notifier.domain.cron import Firing, InvalidSchedule, Job, SlotTracker, resolve_jobs
from tradebus_storage import DEFAULT_SCHEDULES, ScheduleRun, ScheduleSettings, ScheduleSpec
from tradebus_storage.schedule_runs import ABANDONED, CLAIMED, PUBLISHED, slot_message_id


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class FakeRuns:
    """The claim store's contract in memory: one record per (job, slot)."""

    def __init__(self) -> None:
        self.records: dict[tuple[str, datetime], ScheduleRun] = {}

    async def claim(
        self, job: str, slot: datetime, *, holder: str, now: datetime, catch_up: bool = False
    ) -> bool:
        if (job, slot) in self.records:
            return False
        self.records[job, slot] = ScheduleRun(
            job, slot, CLAIMED, holder, now, None, slot_message_id(job, slot), catch_up, 1, None
        )
        return True

    def _set(self, job: str, slot: datetime, **changes: Any) -> None:
        self.records[job, slot] = dataclasses.replace(self.records[job, slot], **changes)

    async def mark_published(self, job: str, slot: datetime, *, now: datetime) -> bool:
        if self.records[job, slot].status != CLAIMED:
            return False
        self._set(job, slot, status=PUBLISHED, fired_at=now)
        return True

    async def note_failure(self, job: str, slot: datetime, error: str) -> None:
        self._set(job, slot, error=error)

    async def take_over_stale(
        self, *, holder: str, claimed_before: datetime, now: datetime, limit: int = 20
    ) -> list[ScheduleRun]:
        taken = []
        for (job, slot), run in list(self.records.items()):
            if run.status == CLAIMED and run.claimed_at <= claimed_before:
                self._set(
                    job,
                    slot,
                    holder=holder,
                    claimed_at=now,
                    publish_attempts=run.publish_attempts + 1,
                )
                taken.append(self.records[job, slot])
        return taken[:limit]

    async def abandon(self, job: str, slot: datetime, reason: str) -> None:
        self._set(job, slot, status=ABANDONED, error=reason)


class Published:
    def __init__(self, fail: int = 0) -> None:
        self.messages: list[tuple[Contract, str | None]] = []
        self.fail = fail

    async def __call__(
        self, payload: Contract, *, tenant_id: str | None = None, message_id: str | None = None
    ) -> Envelope:
        if self.fail:
            self.fail -= 1
            raise ConnectionError("broker away")
        self.messages.append((payload, message_id))
        return Envelope(type=payload.message_type, source="test", id=message_id or "x")


def job(cron: str = "0 * * * *", name: str = "sweeps", **payload: Any) -> Job:
    spec = ScheduleSpec(name=name, cron=cron, command=RunSweeps.message_type, payload=payload)
    return Job(spec, RunSweeps)


def scheduler(
    runs: FakeRuns,
    publish: Published,
    clock: Clock,
    *jobs: Job,
    holder: str = "a",
    catch_up: float = 3600,
) -> CronScheduler:
    return CronScheduler(
        jobs=list(jobs) or [job()],
        runs=runs,
        publish=publish,
        holder=holder,
        catch_up=timedelta(seconds=catch_up),
        grace=timedelta(seconds=60),
        give_up_after=timedelta(hours=6),
        clock=clock,
    )


# -- slots ---------------------------------------------------------------------------


def test_latest_slot_is_at_or_before_and_next_is_strictly_after() -> None:
    spec = ScheduleSpec(name="x", cron="30 2 * * *", command="c.d.e.v1")
    assert spec.latest_slot(at("2026-01-05T02:30:00")) == at("2026-01-05T02:30:00")
    assert spec.latest_slot(at("2026-01-05T02:29:59.9")) == at("2026-01-04T02:30:00")
    assert spec.next_slot(at("2026-01-05T02:30:00")) == at("2026-01-06T02:30:00")


def test_a_slot_in_a_time_zone_follows_its_daylight_saving() -> None:
    spec = ScheduleSpec(name="x", cron="0 9 * * *", command="c.d.e.v1", timezone="Europe/Berlin")
    assert spec.next_slot(at("2026-01-10T00:00:00")) == at("2026-01-10T08:00:00")  # CET
    assert spec.next_slot(at("2026-07-10T00:00:00")) == at("2026-07-10T07:00:00")  # CEST


def test_six_fields_count_seconds() -> None:
    spec = ScheduleSpec(name="x", cron="*/5 * * * * *", command="c.d.e.v1")
    assert spec.next_slot(at("2026-01-01T00:00:01")) == at("2026-01-01T00:00:05")


@pytest.mark.parametrize(
    ("field", "value"), [("cron", "61 * * * *"), ("cron", "daily"), ("timezone", "Mars/Base")]
)
def test_a_bad_schedule_is_refused(field: str, value: str) -> None:
    values = {"name": "x", "cron": "0 * * * *", "command": "c.d.e.v1", field: value}
    with pytest.raises(ValidationError):
        ScheduleSpec.model_validate(values)


def test_schedules_come_from_one_json_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not ScheduleSettings().configured
    assert [s.name for s in ScheduleSettings().specs()] == [s.name for s in DEFAULT_SCHEDULES]
    monkeypatch.setenv(
        "TRADEBUS_SCHEDULES",
        '[{"name": "kb", "cron": "0 1 * * *", "command": "omnirag.kb.check.v1",'
        ' "payload": {"repair": false}, "timezone": "Asia/Shanghai"}]',
    )
    monkeypatch.setenv("TRADEBUS_SCHEDULE_CATCH_UP_SECONDS", "600")
    settings = ScheduleSettings()
    assert settings.configured and settings.catch_up_seconds == 600
    assert settings.specs()[0].payload == {"repair": False}
    monkeypatch.setenv(
        "TRADEBUS_SCHEDULES",
        '[{"name": "a", "cron": "0 1 * * *", "command": "x.y.z.v1"},'
        ' {"name": "a", "cron": "0 2 * * *", "command": "x.y.z.v1"}]',
    )
    with pytest.raises(ValidationError, match="unique"):
        ScheduleSettings()


# -- which schedules run -------------------------------------------------------------


def test_default_schedules_resolve_against_the_registry() -> None:
    jobs = resolve_jobs(DEFAULT_SCHEDULES, REGISTRY, configured=False)
    assert {j.spec.command for j in jobs} == {s.command for s in DEFAULT_SCHEDULES}
    slot = at("2026-01-01T02:30:00")
    command = next(j for j in jobs if j.name == "kb-check").command(slot)
    assert command == CheckKnowledgeBase(slot=slot, tenant_id=None, repair=True)


def test_an_unknown_type_is_skipped_among_defaults_but_refused_when_configured() -> None:
    unknown = ScheduleSpec(name="later", cron="0 * * * *", command="some.future.job.v1")
    assert resolve_jobs([unknown, *DEFAULT_SCHEDULES], REGISTRY, configured=False)[0].name == (
        "kb-check"
    )
    with pytest.raises(InvalidSchedule, match="unknown message type"):
        resolve_jobs([unknown], REGISTRY, configured=True)


@pytest.mark.parametrize(
    ("command", "payload", "reason"),
    [
        ("omnirag.kb.checked.v1", {}, "not a command"),
        ("omnirag.document.ingest.v1", {}, "no `slot`"),
        ("omnirag.kb.check.v1", {"repair": "sometimes"}, "payload refused"),
    ],
)
def test_a_configured_schedule_must_make_a_valid_command(
    command: str, payload: dict[str, Any], reason: str
) -> None:
    spec = ScheduleSpec(name="x", cron="0 * * * *", command=command, payload=payload)
    with pytest.raises(InvalidSchedule, match=reason):
        resolve_jobs([spec], REGISTRY, configured=True)


def test_disabled_schedules_do_not_run() -> None:
    spec = ScheduleSpec(name="x", cron="0 * * * *", command="notifier.sweeps.run.v1", enabled=False)
    assert resolve_jobs([spec], REGISTRY, configured=True) == []


# -- catch-up selection --------------------------------------------------------------


def due(tracker: SlotTracker, now: datetime) -> list[Firing]:
    """The tracker as the scheduler drives it: every slot it offers is then claimed."""
    firings = list(tracker.due(now))
    for firing in firings:
        tracker.handled(firing)
    return firings


def test_each_slot_is_due_once_while_running() -> None:
    tracker = SlotTracker([job()], started_at=at("2026-01-01T09:30:00"), catch_up=timedelta(0))
    assert due(tracker, at("2026-01-01T09:59:59")) == []
    assert [f.slot for f in due(tracker, at("2026-01-01T10:00:00"))] == [at("2026-01-01T10:00:00")]
    assert due(tracker, at("2026-01-01T10:00:01")) == []
    # A late tick (a stalled loop) still fires the slot that came while running.
    late = due(tracker, at("2026-01-01T11:40:00"))
    assert [(f.slot, f.catch_up) for f in late] == [(at("2026-01-01T11:00:00"), False)]


def test_a_slot_whose_claim_failed_stays_due() -> None:
    tracker = SlotTracker([job()], started_at=at("2026-01-01T09:30:00"), catch_up=timedelta(0))
    [first] = tracker.due(at("2026-01-01T10:00:00"))  # the claim raised: not handled
    [again] = tracker.due(at("2026-01-01T10:00:01"))
    assert again.slot == first.slot
    tracker.handled(again)
    assert list(tracker.due(at("2026-01-01T10:00:02"))) == []


async def test_a_claim_that_raised_is_tried_again_at_the_next_tick() -> None:
    clock, runs, publish = Clock(at("2026-01-01T10:00:00")), FakeRuns(), Published()
    claim, calls = runs.claim, []

    async def flaky(*args: Any, **kwargs: Any) -> bool:
        calls.append(args)
        if len(calls) == 1:
            raise ConnectionError("MongoDB away")
        return await claim(*args, **kwargs)

    runs.claim = flaky  # type: ignore[method-assign]
    replica = scheduler(runs, publish, clock, catch_up=0)
    with pytest.raises(ConnectionError):
        await replica.tick()
    clock.advance(seconds=1)
    await replica.tick()
    assert [m for _, m in publish.messages] == ["schedule.sweeps@2026-01-01T10:00:00Z"]


def test_start_up_catches_up_the_latest_missed_slot_within_the_window_only() -> None:
    started = at("2026-01-02T02:20:00")  # down since the evening: 8 hourly slots missed
    tracker = SlotTracker([job()], started_at=started, catch_up=timedelta(minutes=30))
    firings = due(tracker, started)
    assert [(f.slot, f.catch_up) for f in firings] == [(at("2026-01-02T02:00:00"), True)]
    assert due(tracker, started + timedelta(seconds=5)) == []


def test_a_missed_slot_older_than_the_window_is_not_run() -> None:
    started = at("2026-01-02T02:45:00")
    tracker = SlotTracker([job()], started_at=started, catch_up=timedelta(minutes=30))
    assert due(tracker, started) == []
    assert [f.slot for f in due(tracker, at("2026-01-02T03:00:00"))] == [at("2026-01-02T03:00:00")]


# -- claims --------------------------------------------------------------------------


async def test_three_replicas_fire_each_slot_once() -> None:
    clock, runs, publish = Clock(at("2026-01-01T09:59:58")), FakeRuns(), Published()
    replicas = [scheduler(runs, publish, clock, holder=h, catch_up=0) for h in "abc"]
    for _ in range(5):  # 09:59:58 .. 10:00:02, every replica ticking each second
        for replica in replicas:
            await replica.tick()
        clock.advance(seconds=1)
    assert [m for _, m in publish.messages] == ["schedule.sweeps@2026-01-01T10:00:00Z"]
    assert runs.records["sweeps", at("2026-01-01T10:00:00")].status == PUBLISHED


async def test_a_claim_whose_publish_failed_is_republished_after_the_grace_period() -> None:
    clock, runs = Clock(at("2026-01-01T10:00:00")), FakeRuns()
    crashed = Published(fail=1)  # the claimer loses the broker before publishing
    a, b = scheduler(runs, crashed, clock, holder="a"), scheduler(runs, Published(), clock)
    assert len(await a.tick()) == 1
    assert runs.records["sweeps", clock.now].status == CLAIMED
    publish_b = Published()
    b = scheduler(runs, publish_b, clock, holder="b")
    clock.advance(seconds=30)
    await b.tick()
    assert publish_b.messages == []  # still within the grace period
    clock.advance(seconds=31)
    await b.tick()
    assert [m for _, m in publish_b.messages] == ["schedule.sweeps@2026-01-01T10:00:00Z"]
    run = runs.records["sweeps", at("2026-01-01T10:00:00")]
    assert (run.status, run.holder, run.publish_attempts) == (PUBLISHED, "b", 2)


async def test_a_run_never_published_in_time_is_abandoned() -> None:
    clock, runs = Clock(at("2026-01-01T10:00:00")), FakeRuns()
    await scheduler(runs, Published(fail=1), clock).tick()
    clock.advance(hours=7)
    late = Published()
    await scheduler(runs, late, clock, holder="b").tick()
    assert runs.records["sweeps", at("2026-01-01T10:00:00")].status == ABANDONED
    # Only the slot that is due now went out, not the abandoned one.
    assert [m for _, m in late.messages] == ["schedule.sweeps@2026-01-01T17:00:00Z"]


async def test_the_command_carries_the_slot_and_the_payload() -> None:
    clock, runs, publish = Clock(at("2026-01-01T02:30:00")), FakeRuns(), Published()
    spec = ScheduleSpec(
        name="kb", cron="30 2 * * *", command="omnirag.kb.check.v1", payload={"repair": False}
    )
    await scheduler(runs, publish, clock, Job(spec, CheckKnowledgeBase)).tick()
    [(command, message_id)] = publish.messages
    assert command == CheckKnowledgeBase(slot=at("2026-01-01T02:30:00"), repair=False)
    assert message_id == "schedule.kb@2026-01-01T02:30:00Z"

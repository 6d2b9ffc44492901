"""The evaluator over hand-written fakes of its signals, store and publisher."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tradebus_contracts import AlertRaised, AlertResolved, Contract, NotifyAlert
from tradebus_notifier.adapters.alert_store import Notice, StoredAlert
from tradebus_notifier.alert_evaluation import AlertEvaluator
from tradebus_notifier.alert_settings import AlertChannel
from tradebus_notifier.domain.alert_rules import Counts, RecallReading, Rule, RuleKind

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


class FakeSignals:
    def __init__(self) -> None:
        self.retrievals: dict[str, Counts] = {}
        self.recall: dict[str, RecallReading] = {}

    async def retrieval(self, since: datetime) -> dict[str, Counts]:
        return dict(self.retrievals)

    async def task_outcomes(self, since: datetime) -> dict[str, Counts]:
        return {}

    async def latest_recall(self) -> dict[str, RecallReading]:
        return dict(self.recall)


class FakeProbe:
    def __init__(self) -> None:
        self.queues: dict[str, tuple[bool, int, int, int | None]] = {}

    async def read(self, queues: list[str]) -> dict[str, tuple[bool, int, int, int | None]]:
        return {q: self.queues.get(q, (False, 0, 0, None)) for q in queues}


class FakeStore:
    """The store's contract in memory: versions compare-and-set, an outbox per alert."""

    def __init__(self) -> None:
        self.docs: dict[str, dict[str, Any]] = {}
        self.backlog: dict[str, datetime] = {}

    async def load(self) -> dict[str, StoredAlert]:
        return {fp: d["alert"] for fp, d in self.docs.items()}

    async def save(self, *, fingerprint, expected_version, meta, state, notice) -> bool:  # type: ignore[no-untyped-def]
        doc = self.docs.get(fingerprint)
        if (doc["alert"].version if doc else None) != expected_version:
            return False
        version = (expected_version or 0) + 1
        alert = StoredAlert(
            fingerprint,
            meta["rule"],
            meta["rule_kind"],
            meta["subject"],
            meta["tenant_id"],
            meta["severity"],
            meta["threshold"],
            state,
            version,
        )
        outbox = (doc["outbox"] if doc else []) + ([notice] if notice else [])
        self.docs[fingerprint] = {"alert": alert, "outbox": outbox}
        return True

    async def outbox(self) -> list[Notice]:
        return [n for d in self.docs.values() for n in d["outbox"]]

    async def sent(self, notice: Notice) -> None:
        box = self.docs[notice.fingerprint]["outbox"]
        box[:] = [n for n in box if n.id != notice.id]

    async def backlogs(self) -> dict[str, datetime]:
        return dict(self.backlog)

    async def set_backlog(self, queue: str, since: datetime | None) -> None:
        if since is None:
            self.backlog.pop(queue, None)
        else:
            self.backlog[queue] = since


class FakeBus:
    def __init__(self) -> None:
        self.sent: list[tuple[Contract, dict[str, Any]]] = []
        self.fail = False

    async def publish(self, payload: Contract, **kw: Any) -> None:
        if self.fail:
            raise ConnectionError("broker down")
        self.sent.append((payload, kw))

    def of(self, model: type[Contract]) -> list[Any]:
        return [p for p, _ in self.sent if isinstance(p, model)]


RULE = Rule(
    name="empty",
    kind=RuleKind.EMPTY_RETRIEVAL_RATE,
    threshold=0.5,
    for_seconds=60,
    clear_for_seconds=60,
    min_samples=10,
)
CHANNELS = [
    AlertChannel(kind="slack", url="https://hooks.example/a", name="ops"),  # type: ignore[arg-type]
    AlertChannel(kind="json", url="https://hooks.example/b", name="pager", min_severity="critical"),  # type: ignore[arg-type]
]


def evaluator(
    signals: FakeSignals, store: FakeStore, bus: FakeBus, rules: list[Rule] | None = None
) -> AlertEvaluator:
    return AlertEvaluator(
        rules=rules or [RULE],
        queues=[],
        signals=signals,
        probe=FakeProbe(),
        store=store,  # type: ignore[arg-type]
        publish=bus.publish,  # type: ignore[arg-type]
        channels=CHANNELS,
    )


async def test_a_rule_raises_once_and_resolves_once_across_evaluations() -> None:
    signals, store, bus = FakeSignals(), FakeStore(), FakeBus()
    ev = evaluator(signals, store, bus)
    signals.retrievals = {"acme": Counts(20, 15)}
    for i in range(10):  # 10 evaluations 15 s apart: breached throughout
        await ev.run_once(T0 + timedelta(seconds=15 * i))
    (raised,) = bus.of(AlertRaised)
    assert raised.started_at == T0 and raised.raised_at == T0 + timedelta(seconds=60)
    assert (raised.subject, raised.tenant_id, raised.value) == ("acme", "acme", 0.75)
    signals.retrievals = {"acme": Counts(20, 1)}
    for i in range(10, 20):
        await ev.run_once(T0 + timedelta(seconds=15 * i))
    (resolved,) = bus.of(AlertResolved)
    assert resolved.alert_id == raised.alert_id and resolved.started_at == T0
    assert resolved.resolved_at == T0 + timedelta(seconds=15 * 14)
    # One channel job per notification for `ops`; `pager` only takes critical alerts.
    jobs = bus.of(NotifyAlert)
    assert [(j.channel, j.status) for j in jobs] == [("ops", "firing"), ("ops", "resolved")]
    ids = [kw["message_id"] for _, kw in bus.sent]
    assert len(set(ids)) == len(ids) == 4


async def test_a_restarted_evaluator_does_not_raise_again() -> None:
    signals, store, bus = FakeSignals(), FakeStore(), FakeBus()
    signals.retrievals = {"acme": Counts(20, 15)}
    for i in range(6):
        await evaluator(signals, store, bus).run_once(T0 + timedelta(seconds=15 * i))
    assert len(bus.of(AlertRaised)) == 1


async def test_a_failed_publish_is_sent_later_with_the_same_ids() -> None:
    signals, store, bus = FakeSignals(), FakeStore(), FakeBus()
    ev = evaluator(signals, store, bus, [RULE.model_copy(update={"for_seconds": 0})])
    signals.retrievals = {"acme": Counts(20, 15)}
    bus.fail = True
    with pytest.raises(ConnectionError):
        await ev.run_once(T0)
    assert bus.sent == [] and len(await store.outbox()) == 1  # kept for later
    bus.fail = False
    await ev.run_once(T0 + timedelta(seconds=15))
    await ev.run_once(T0 + timedelta(seconds=30))
    (raised,) = bus.of(AlertRaised)
    assert raised.raised_at == T0
    assert await store.outbox() == []


async def test_a_subject_without_a_reading_any_more_resolves() -> None:
    signals, store, bus = FakeSignals(), FakeStore(), FakeBus()
    rule = RULE.model_copy(update={"for_seconds": 0, "clear_for_seconds": 0})
    ev = evaluator(signals, store, bus, [rule])
    signals.retrievals = {"acme": Counts(20, 15)}
    await ev.run_once(T0)
    signals.retrievals = {"acme": Counts(3, 3)}  # too few asks to judge
    await ev.run_once(T0 + timedelta(seconds=15))
    assert len(bus.of(AlertRaised)) == len(bus.of(AlertResolved)) == 1


async def test_another_evaluator_that_moved_the_alert_first_wins() -> None:
    signals, store, bus = FakeSignals(), FakeStore(), FakeBus()
    rule = RULE.model_copy(update={"for_seconds": 0})
    signals.retrievals = {"acme": Counts(20, 15)}
    a, b = evaluator(signals, store, bus, [rule]), evaluator(signals, store, bus, [rule])
    stale = await store.load()  # b read before a wrote
    await a.run_once(T0)
    store.load = lambda: _value(stale)  # type: ignore[method-assign]
    await b.run_once(T0)
    assert len(bus.of(AlertRaised)) == 1


async def _value(v: dict[str, StoredAlert]) -> dict[str, StoredAlert]:
    return v


async def test_queue_rules_watch_their_own_queues_or_the_default_ones() -> None:
    signals, store, bus = FakeSignals(), FakeStore(), FakeBus()
    probe = FakeProbe()
    probe.queues = {"a.work": (True, 0, 0, 0), "x.work": (True, 0, 0, 0)}
    ev = AlertEvaluator(
        rules=[
            Rule(name="missing", kind=RuleKind.CONSUMER_MISSING, threshold=1, for_seconds=0),
            Rule(
                name="parked",
                kind=RuleKind.PARKING_LOT_DEPTH,
                threshold=0,
                for_seconds=0,
                queues=("x.work",),
            ),
        ],
        queues=["a.work"],
        signals=signals,
        probe=probe,
        store=store,  # type: ignore[arg-type]
        publish=bus.publish,  # type: ignore[arg-type]
        channels=[],
    )
    observed = await ev.observe(T0)
    assert sorted((o.rule.name, o.subject) for o in observed) == [
        ("missing", "a.work"),
        ("parked", "x.work"),
    ]

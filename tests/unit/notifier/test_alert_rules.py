"""Alert rules and their hysteresis: pure functions, no I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from tradebus_notifier.domain.alert_rules import (
    Counts,
    Observation,
    QueueReading,
    RecallReading,
    Rule,
    RuleKind,
    alert_id,
    backlog_since,
    fingerprint,
    observe_queues,
    observe_rates,
    observe_recall,
    queues_of,
)
from tradebus_notifier.domain.alert_state import OK, Phase, Transition, step
from tradebus_notifier.settings import NotifierSettings

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def rule(kind: RuleKind = RuleKind.EMPTY_RETRIEVAL_RATE, **values: object) -> Rule:
    return Rule.model_validate({"name": "r", "kind": kind, "threshold": 0.5, **values})


def obs(r: Rule, breached: bool, value: float | None = 1.0) -> Observation:
    return Observation(r, "acme", value, breached, "s")


def run(r: Rule, pattern: str, every: float = 10.0) -> list[tuple[int, Transition]]:
    """Evaluate `pattern` (B breached, . clear) every `every` seconds; the transitions."""
    state, out = OK, []
    for i, c in enumerate(pattern):
        state, t = step(state, obs(r, c == "B"), T0 + timedelta(seconds=i * every))
        if t is not None:
            out.append((i, t))
    return out


def test_the_condition_must_hold_for_the_duration_before_raising() -> None:
    r = rule(for_seconds=30, clear_for_seconds=30)
    assert run(r, "BBB") == []  # held 20 s
    assert run(r, "BBBB") == [(3, Transition.RAISED)]  # held 30 s


def test_a_flicker_shorter_than_for_raises_nothing() -> None:
    r = rule(for_seconds=30, clear_for_seconds=30)
    assert run(r, "BB.BB.BBB.B" * 3) == []


def test_a_firing_alert_flickering_clear_resolves_once_when_it_stays_clear() -> None:
    r = rule(for_seconds=0, clear_for_seconds=30)
    transitions = run(r, "B.B..B.B......B")
    # raised at 0; the short clear spells do not resolve; resolved 30 s into the long one;
    # the breach after that is a new firing.
    assert transitions == [
        (0, Transition.RAISED),
        (11, Transition.RESOLVED),
        (14, Transition.RAISED),
    ]


def test_zero_durations_raise_and_resolve_at_once() -> None:
    r = rule(for_seconds=0, clear_for_seconds=0)
    assert run(r, "B.") == [(0, Transition.RAISED), (1, Transition.RESOLVED)]


def test_state_keeps_when_it_started_and_when_it_was_raised() -> None:
    r = rule(for_seconds=20, clear_for_seconds=0)
    s1, _ = step(OK, obs(r, True), T0)
    assert s1.phase is Phase.PENDING and s1.started_at == T0
    s2, t = step(s1, obs(r, True), T0 + timedelta(seconds=20))
    assert t is Transition.RAISED
    assert (s2.phase, s2.started_at, s2.raised_at) == (Phase.FIRING, T0, T0 + timedelta(seconds=20))


def test_rates_need_enough_samples_and_breach_above_the_threshold() -> None:
    r = rule(threshold=0.3, min_samples=10, window_seconds=600)
    got = observe_rates(
        r, {"acme": Counts(10, 4), "globex": Counts(9, 9), "initech": Counts(20, 2)}
    )
    assert [(o.subject, o.value, o.breached, o.tenant_id) for o in got] == [
        ("acme", 0.4, True, "acme"),
        ("initech", 0.1, False, "initech"),
    ]
    assert "40% of 10 retrievals came back empty in the last 10 min" in got[0].summary


def test_task_failure_rate_is_per_kind_not_per_tenant() -> None:
    r = rule(RuleKind.TASK_FAILURE_RATE, threshold=0.2)
    (o,) = observe_rates(r, {"omnirag.ingest": Counts(5, 2)})
    assert (o.subject, o.tenant_id, o.breached) == ("omnirag.ingest", None, True)


def test_queue_rules() -> None:
    readings = {
        "a.work": QueueReading(True, ready=3, consumers=0, parked=2, backlog_seconds=700),
        "b.work": QueueReading(True, ready=0, consumers=2, parked=0),
        "c.work": QueueReading(False),
        "d.work": QueueReading(True, ready=1, consumers=1, parked=None),
    }
    parked = observe_queues(rule(RuleKind.PARKING_LOT_DEPTH, threshold=0), readings)
    assert [(o.subject, o.value, o.breached) for o in parked] == [
        ("a.work", 2, True),
        ("b.work", 0, False),
    ]
    missing = observe_queues(rule(RuleKind.CONSUMER_MISSING, threshold=1), readings)
    assert {o.subject: o.breached for o in missing} == {
        "a.work": True,
        "b.work": False,
        "c.work": True,  # a queue that does not exist has no consumer either
        "d.work": False,
    }
    age = observe_queues(rule(RuleKind.OLDEST_MESSAGE_AGE, threshold=600), readings)
    assert {o.subject: o.breached for o in age} == {
        "a.work": True,
        "b.work": False,
        "d.work": False,
    }


def test_backlog_since_keeps_the_start_until_the_queue_empties() -> None:
    later = T0 + timedelta(minutes=5)
    assert backlog_since(None, 3, T0) == T0
    assert backlog_since(T0, 1, later) == T0
    assert backlog_since(T0, 0, later) is None


def test_recall_below_reads_the_latest_fresh_measurement() -> None:
    r = rule(RuleKind.RECALL_BELOW, threshold=0.6, window_seconds=3600, min_samples=10)
    latest = {
        "acme": RecallReading(T0 - timedelta(minutes=5), 5, 0.4, 50),
        "globex": RecallReading(T0 - timedelta(hours=2), 5, 0.1, 50),  # stale
        "initech": RecallReading(T0, 5, 0.9, 50),
        "umbrella": RecallReading(T0, 5, 0.1, 3),  # too few samples
    }
    got = observe_recall(r, latest, T0)
    assert [(o.subject, o.breached) for o in got] == [("acme", True), ("initech", False)]
    assert got[0].summary.startswith("recall@5 of acme is 0.40")


def test_ids_are_stable_per_rule_subject_and_firing() -> None:
    fp = fingerprint("r", "acme")
    assert fp == fingerprint("r", "acme") != fingerprint("r", "globex")
    assert alert_id(fp, T0) == alert_id(fp, T0) != alert_id(fp, T0 + timedelta(seconds=1))


def test_queue_rules_watch_their_own_queues_or_the_default() -> None:
    rules = [
        rule(RuleKind.PARKING_LOT_DEPTH, threshold=0),
        rule(RuleKind.CONSUMER_MISSING, name="c", threshold=1, queues=["x.y"]),
    ]
    assert queues_of(rules, ["a.b"]) == ["a.b", "x.y"]


def test_rule_settings_are_validated() -> None:
    with pytest.raises(ValidationError):
        rule(threshold=1.5)  # a rate above 1
    with pytest.raises(ValidationError):
        NotifierSettings(alert_rules=[rule(), rule()])  # duplicate names
    s = NotifierSettings(
        alert_channels=[
            {"kind": "slack", "url": "https://hooks.slack.com/services/T/B/x"},
            {"kind": "wecom", "url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k"},
        ]
    )
    assert [c.name for c in s.alert_channels] == ["slack-1", "wecom-2"]
    assert "hooks.slack.com" not in repr(s.alert_channels)  # the URL is a secret

"""Alert evaluation: every interval, on the one replica holding the lease, read the
signals, step each (rule, subject) through its hysteresis and announce what changed.

A transition is written with its notification in one compare-and-set (adapters/
alert_store.py); then `tradebus.alert.raised.v1` / `.resolved.v1` is published on
tradebus.events (the webhook fanout delivers it to subscribers like any event), plus one
`notifier.alert.notify.v1` job per operator channel, all with message ids derived from
the notification, and only then is the notification taken out of the outbox."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from prometheus_client import Counter

from tradebus_contracts import AlertRaised, AlertResolved, Contract, Envelope, NotifyAlert
from tradebus_storage import LeaseRepository

from .adapters.alert_store import AlertStore, Notice, StoredAlert
from .alert_settings import AlertChannel
from .domain.alert_ports import QueueProbe, Signals
from .domain.alert_rules import (
    QUEUE_RULES,
    SEVERITY_RANK,
    Observation,
    QueueReading,
    Rule,
    RuleKind,
    alert_id,
    backlog_since,
    observe_queues,
    observe_rates,
    observe_recall,
    queues_of,
)
from .domain.alert_state import OK, AlertState, Phase, Transition, step

log = structlog.get_logger("tradebus.notifier.alerts")

LEASE = "notifier.alerts"
TRANSITIONS = Counter(
    "tradebus_notifier_alert_transitions_total",
    "Alerts raised and resolved, by rule.",
    ["rule", "transition"],
)
EVALUATION_FAILURES = Counter(
    "tradebus_notifier_alert_evaluation_failures_total",
    "Alert evaluations that failed (a signal unreadable, the broker or MongoDB away).",
)
Publish = Callable[..., Awaitable[Envelope]]


class AlertEvaluator:
    def __init__(
        self,
        *,
        rules: Sequence[Rule],
        queues: Sequence[str],
        signals: Signals,
        probe: QueueProbe,
        store: AlertStore,
        publish: Publish,
        channels: Sequence[AlertChannel],
    ) -> None:
        self.rules = list(rules)
        self.default_queues = tuple(queues)
        self.queues = queues_of(self.rules, queues)  # every queue some rule watches
        self.signals = signals
        self.probe = probe
        self.store = store
        self.publish = publish
        self.channels = list(channels)

    async def run_once(self, now: datetime | None = None) -> list[Notice]:
        """One evaluation; returns the notifications it published."""
        now = now or datetime.now(UTC)
        sent = await self.flush()  # earlier notifications first: order per alert holds
        observations = await self.observe(now)
        stored = await self.store.load()
        seen: set[str] = set()
        for obs in observations:
            seen.add(obs.fingerprint)
            await self._advance(stored.get(obs.fingerprint), obs, now)
        for fp, alert in stored.items():
            if fp not in seen and alert.state.active:
                # No reading (the tenant went quiet, the rule was removed): clear.
                await self._advance(alert, self._no_reading(alert), now)
        return sent + await self.flush()

    async def observe(self, now: datetime) -> list[Observation]:
        out: list[Observation] = []
        readings = await self._queues(now) if self.queues else {}
        recall = None
        for rule in self.rules:
            since = now - timedelta(seconds=rule.window_seconds)
            if rule.kind is RuleKind.EMPTY_RETRIEVAL_RATE:
                out += observe_rates(rule, await self.signals.retrieval(since))
            elif rule.kind is RuleKind.TASK_FAILURE_RATE:
                out += observe_rates(rule, await self.signals.task_outcomes(since))
            elif rule.kind is RuleKind.RECALL_BELOW:
                recall = recall if recall is not None else await self.signals.latest_recall()
                out += observe_recall(rule, recall, now)
            elif rule.kind in QUEUE_RULES:
                names = rule.queues or self.default_queues
                out += observe_queues(rule, {q: readings[q] for q in names if q in readings})
        return out

    async def flush(self) -> list[Notice]:
        notices = await self.store.outbox()
        for notice in notices:
            await self._publish(notice)
            await self.store.sent(notice)
        return notices

    async def run(self, leases: LeaseRepository, *, holder: str, interval: float) -> None:
        """Until cancelled: every `interval`, one evaluation if this replica holds the lease."""
        ttl = timedelta(seconds=max(interval * 3, 10))
        try:
            while True:
                try:
                    if await leases.acquire(LEASE, holder, ttl):
                        await self.run_once()
                except Exception:
                    EVALUATION_FAILURES.inc()
                    log.exception("alert evaluation failed; retrying next interval")
                await asyncio.sleep(interval)
        finally:
            with contextlib.suppress(Exception):
                await leases.release(LEASE, holder)

    # -- steps ------------------------------------------------------------------

    async def _queues(self, now: datetime) -> dict[str, QueueReading]:
        raw = await self.probe.read(self.queues)
        previous = await self.store.backlogs()
        out = {}
        for queue, (exists, ready, consumers, parked) in raw.items():
            since = backlog_since(previous.get(queue), ready, now)
            if since != previous.get(queue):
                await self.store.set_backlog(queue, since)
            age = (now - since).total_seconds() if since else 0.0
            out[queue] = QueueReading(exists, ready, consumers, parked, age)
        return out

    async def _advance(self, alert: StoredAlert | None, obs: Observation, now: datetime) -> None:
        state = alert.state if alert else OK
        new, transition = step(state, obs, now)
        if transition is None and _same(new, state):
            return
        notice = self._notice(obs, state, new, transition, now) if transition else None
        meta = {
            "rule": obs.rule.name,
            "rule_kind": obs.rule.kind.value,
            "subject": obs.subject,
            "tenant_id": obs.tenant_id,
            "severity": obs.rule.severity,
            "threshold": obs.rule.threshold,
            "summary": obs.summary,
        }
        version = alert.version if alert else None
        if not await self.store.save(
            fingerprint=obs.fingerprint,
            expected_version=version,
            meta=meta,
            state=new,
            notice=notice,
        ):
            log.warning("alert moved by another evaluator", rule=obs.rule.name, subject=obs.subject)
            return
        if transition is not None:
            TRANSITIONS.labels(obs.rule.name, transition.value).inc()
            log.info(f"alert {transition.value}", rule=obs.rule.name, subject=obs.subject)

    def _notice(
        self,
        obs: Observation,
        before: AlertState,
        after: AlertState,
        transition: Transition,
        now: datetime,
    ) -> Notice:
        started = (after if transition is Transition.RAISED else before).started_at or now
        aid = alert_id(obs.fingerprint, started)
        common: dict[str, Any] = {
            "alert_id": aid,
            "fingerprint": obs.fingerprint,
            "rule": obs.rule.name,
            "rule_kind": obs.rule.kind.value,
            "severity": obs.rule.severity,
            "subject": obs.subject,
            "tenant_id": obs.tenant_id,
            "value": obs.value,
            "threshold": obs.rule.threshold,
            "summary": obs.summary[:1000],
            "started_at": started,
        }
        event: Contract
        if transition is Transition.RAISED:
            event = AlertRaised(**common, raised_at=now)
        else:
            event = AlertResolved(**common, resolved_at=now)
        return Notice(
            obs.fingerprint,
            _digest(aid, transition.value),
            event.message_type,
            event.model_dump(mode="json"),
        )

    async def _publish(self, notice: Notice) -> None:
        model = AlertRaised if notice.type == AlertRaised.message_type else AlertResolved
        event = model.model_validate(notice.payload)
        await self.publish(
            event, tenant_id=event.tenant_id, subject=event.subject, message_id=notice.id
        )
        at = event.raised_at if isinstance(event, AlertRaised) else event.resolved_at
        status = "firing" if isinstance(event, AlertRaised) else "resolved"
        fields = event.model_dump(exclude={"raised_at", "resolved_at"})
        for channel in self.channels:
            if SEVERITY_RANK[event.severity] < SEVERITY_RANK[channel.min_severity]:
                continue
            await self.publish(
                NotifyAlert(channel=channel.name, status=status, at=at, **fields),
                message_id=_digest(notice.id, channel.name),
            )

    def _no_reading(self, alert: StoredAlert) -> Observation:
        rule = next((r for r in self.rules if r.name == alert.rule), None)
        if rule is None:  # removed from settings: resolve at the next evaluation
            rule = Rule(
                name=alert.rule,
                kind=RuleKind(alert.rule_kind),
                threshold=alert.threshold,
                severity=alert.severity,
                for_seconds=0,
                clear_for_seconds=0,
            )
        return Observation(
            rule,
            alert.subject,
            None,
            False,
            f"{alert.rule} on {alert.subject}: no reading any more",
            tenant_id=alert.tenant_id,
        )


def _same(a: AlertState, b: AlertState) -> bool:
    """Equal but for the value: a value alone is not worth a write every interval."""
    return (a.phase, a.started_at, a.clear_since, a.raised_at) == (
        b.phase,
        b.started_at,
        b.clear_since,
        b.raised_at,
    )


def _digest(*parts: str) -> str:
    return hashlib.sha256(":".join(parts).encode()).hexdigest()[:32]


__all__ = ["LEASE", "AlertEvaluator", "Phase"]

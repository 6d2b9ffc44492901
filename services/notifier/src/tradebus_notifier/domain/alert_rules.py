"""Alert rules and what they make of the signals: pure, no I/O.

A rule reads one kind of signal and yields one observation per subject (a tenant, a
queue or a task kind): the value, and whether it breaches the threshold. Whether that
breach raises anything is the hysteresis' business (alert_state.py)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class RuleKind(StrEnum):
    EMPTY_RETRIEVAL_RATE = "empty_retrieval_rate"  # per tenant, over a window
    TASK_FAILURE_RATE = "task_failure_rate"  # per task kind, over a window
    PARKING_LOT_DEPTH = "parking_lot_depth"  # per work queue: messages in <queue>.dlq
    OLDEST_MESSAGE_AGE = "oldest_message_age"  # per work queue, seconds (see README)
    CONSUMER_MISSING = "consumer_missing"  # per work queue: consumers below the minimum
    RECALL_BELOW = "recall_below"  # per tenant: the latest recall@k measured


# Rules whose value breaches when it falls below the threshold; the others above it.
BELOW = frozenset({RuleKind.CONSUMER_MISSING, RuleKind.RECALL_BELOW})
TENANT_RULES = frozenset({RuleKind.EMPTY_RETRIEVAL_RATE, RuleKind.RECALL_BELOW})
QUEUE_RULES = frozenset(
    {RuleKind.PARKING_LOT_DEPTH, RuleKind.OLDEST_MESSAGE_AGE, RuleKind.CONSUMER_MISSING}
)

Severity = Literal["info", "warning", "critical"]
SEVERITY_RANK: dict[str, int] = {"info": 0, "warning": 1, "critical": 2}


class Rule(BaseModel):
    """One configured rule (an entry of `TRADEBUS_NOTIFIER_ALERT_RULES`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(..., min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:-]+$")
    kind: RuleKind
    threshold: float
    severity: Severity = "warning"
    # Prometheus `for:`: the condition must hold this long before the alert fires, and
    # (`clear_for_seconds`, like `keep_firing_for`) be clear this long before it resolves.
    for_seconds: float = Field(300.0, ge=0)
    clear_for_seconds: float = Field(300.0, ge=0)
    # Rates: the window summed, and the least samples (asks, finished tasks) in it for the
    # rate to mean anything; recall: measurements older than the window are ignored.
    window_seconds: float = Field(900.0, gt=0)
    min_samples: int = Field(1, ge=1)
    # Queue rules: the queues watched (empty: the notifier's `alert_queues`).
    queues: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _sane(self) -> Rule:
        if self.kind in (RuleKind.EMPTY_RETRIEVAL_RATE, RuleKind.TASK_FAILURE_RATE) and not (
            0 <= self.threshold <= 1
        ):
            raise ValueError(f"{self.name}: a rate threshold is between 0 and 1")
        return self

    def breaches(self, value: float) -> bool:
        return value < self.threshold if self.kind in BELOW else value > self.threshold


@dataclass(frozen=True, slots=True)
class Observation:
    rule: Rule
    subject: str
    value: float | None  # None: no reading (treated as clear)
    breached: bool
    summary: str
    tenant_id: str | None = None

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.rule.name, self.subject)


def fingerprint(rule: str, subject: str) -> str:
    return hashlib.sha256(f"{rule}\x00{subject}".encode()).hexdigest()[:32]


def alert_id(fingerprint_: str, started_at: datetime) -> str:
    """One firing: the same for its raised and resolved events and every retry of them."""
    return hashlib.sha256(f"{fingerprint_}:{started_at.isoformat()}".encode()).hexdigest()[:32]


# -- the signals, as the adapters read them -----------------------------------------


@dataclass(frozen=True, slots=True)
class Counts:
    total: int  # asks, or finished tasks
    bad: int  # empty retrievals, or failed tasks


@dataclass(frozen=True, slots=True)
class QueueReading:
    exists: bool
    ready: int = 0
    consumers: int = 0
    parked: int | None = None  # messages in its parking lot; None: no parking lot
    backlog_seconds: float = 0.0  # how long it has been non-empty without a break


@dataclass(frozen=True, slots=True)
class RecallReading:
    at: datetime
    k: int
    recall_at_k: float
    samples: int


def observe_rates(rule: Rule, counts: Mapping[str, Counts]) -> list[Observation]:
    noun = (
        "retrievals came back empty"
        if rule.kind is RuleKind.EMPTY_RETRIEVAL_RATE
        else ("tasks failed")
    )
    tenant = rule.kind in TENANT_RULES
    out = []
    for subject, c in sorted(counts.items()):
        if c.total < rule.min_samples:
            continue  # too few to judge: no reading, which counts as clear
        rate = c.bad / c.total
        window = _duration(rule.window_seconds)
        out.append(
            Observation(
                rule,
                subject,
                rate,
                rule.breaches(rate),
                f"{rate:.0%} of {c.total} {noun} in the last {window} for {subject} "
                f"(threshold {rule.threshold:.0%})",
                tenant_id=subject if tenant else None,
            )
        )
    return out


def observe_queues(rule: Rule, readings: Mapping[str, QueueReading]) -> list[Observation]:
    out = []
    for queue, r in sorted(readings.items()):
        if rule.kind is RuleKind.CONSUMER_MISSING:
            value = float(r.consumers if r.exists else 0)
            what = "does not exist" if not r.exists else f"has {r.consumers} consumer(s)"
            summary = f"queue {queue} {what} (minimum {rule.threshold:g})"
        elif not r.exists:
            continue
        elif rule.kind is RuleKind.PARKING_LOT_DEPTH:
            if r.parked is None:
                continue
            value = float(r.parked)
            summary = f"{r.parked} message(s) parked in {queue}.dlq (threshold {rule.threshold:g})"
        else:
            value = r.backlog_seconds
            summary = (
                f"queue {queue} has held messages for {_duration(value)} without emptying "
                f"({r.ready} ready, threshold {_duration(rule.threshold)})"
            )
        out.append(Observation(rule, queue, value, rule.breaches(value), summary))
    return out


def observe_recall(
    rule: Rule, latest: Mapping[str, RecallReading], now: datetime
) -> list[Observation]:
    out = []
    for tenant, r in sorted(latest.items()):
        if (now - r.at).total_seconds() > rule.window_seconds or r.samples < rule.min_samples:
            continue  # stale or too small a sample: no reading
        out.append(
            Observation(
                rule,
                tenant,
                r.recall_at_k,
                rule.breaches(r.recall_at_k),
                f"recall@{r.k} of {tenant} is {r.recall_at_k:.2f} over {r.samples} samples "
                f"(threshold {rule.threshold:.2f})",
                tenant_id=tenant,
            )
        )
    return out


def backlog_since(previous: datetime | None, ready: int, now: datetime) -> datetime | None:
    """When the queue's current unbroken backlog began (None: it is empty now)."""
    if ready <= 0:
        return None
    return previous or now


def queues_of(rules: Iterable[Rule], default: Iterable[str]) -> list[str]:
    names: dict[str, None] = {}
    for rule in rules:
        if rule.kind in QUEUE_RULES:
            names.update(dict.fromkeys(rule.queues or tuple(default)))
    return list(names)


def _duration(seconds: float) -> str:
    s = int(seconds)
    if s >= 3600 and s % 3600 == 0:
        return f"{s // 3600} h"
    if s >= 60 and s % 60 == 0:
        return f"{s // 60} min"
    return f"{s} s"

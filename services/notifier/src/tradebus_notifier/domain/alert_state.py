"""Hysteresis per (rule, subject), like Prometheus `for:` and `keep_firing_for:`.

    ok --breach--> pending --held for_seconds--> FIRING (raise)
    pending --clear--> ok
    firing --clear--> clearing --clear held clear_for_seconds--> ok (resolve)
    clearing --breach--> firing (nothing sent: the same firing goes on)

So a condition that flickers raises nothing until it holds, and a firing alert that
flickers clear resolves once it stays clear: one raised and one resolved per firing."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from .alert_rules import Observation


class Phase(StrEnum):
    OK = "ok"
    PENDING = "pending"
    FIRING = "firing"
    CLEARING = "clearing"


class Transition(StrEnum):
    RAISED = "raised"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class AlertState:
    phase: Phase
    started_at: datetime | None = None  # first breach of the current pending/firing spell
    clear_since: datetime | None = None  # first clear evaluation while firing
    raised_at: datetime | None = None
    value: float | None = None

    @property
    def active(self) -> bool:
        return self.phase is not Phase.OK


OK = AlertState(Phase.OK)


def step(
    state: AlertState, obs: Observation, now: datetime
) -> tuple[AlertState, Transition | None]:
    """The next state after one evaluation, and what it announces (if anything)."""
    rule = obs.rule
    held = (now - state.started_at).total_seconds() if state.started_at else 0.0
    if obs.breached:
        if state.phase is Phase.OK:
            started = AlertState(Phase.PENDING, started_at=now, value=obs.value)
            if rule.for_seconds <= 0:
                return replace(started, phase=Phase.FIRING, raised_at=now), Transition.RAISED
            return started, None
        if state.phase is Phase.PENDING:
            if held >= rule.for_seconds:
                return replace(
                    state, phase=Phase.FIRING, raised_at=now, value=obs.value
                ), Transition.RAISED
            return replace(state, value=obs.value), None
        # firing, or clearing and breached again: the same firing goes on
        return replace(state, phase=Phase.FIRING, clear_since=None, value=obs.value), None
    if state.phase is Phase.PENDING:
        return OK, None
    if state.phase is Phase.FIRING:
        if rule.clear_for_seconds <= 0:
            return OK, Transition.RESOLVED
        return replace(state, phase=Phase.CLEARING, clear_since=now, value=obs.value), None
    if state.phase is Phase.CLEARING:
        assert state.clear_since is not None
        if (now - state.clear_since).total_seconds() >= rule.clear_for_seconds:
            return OK, Transition.RESOLVED
        return replace(state, value=obs.value), None
    return OK, None

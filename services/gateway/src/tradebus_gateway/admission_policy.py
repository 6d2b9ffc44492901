"""Admission arithmetic, pure: is there room for one more ingest task, for the platform and
for this tenant, and if not, how long until there is.

The backlog is every task accepted and not finished (all stages), the drain rate how many
finish per second. Work accepted now waits about backlog / drain, so the platform admits
while that stays within the SLO (`slo_seconds x drain` tasks, never fewer than `floor`,
which covers a cold start with no drain measured yet). One tenant may hold at most `share`
of that, or its own quota from settings, so a flood from one tenant is refused while the
others are still admitted."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True, slots=True)
class AdmissionPolicy:
    slo_seconds: float
    floor: int
    share: float  # 0 < share <= 1
    retry_after_cap: int
    quotas: Mapping[str, int] = field(default_factory=dict)  # tenant -> unfinished tasks


@dataclass(frozen=True, slots=True)
class Verdict:
    retry_after: int  # 0: admitted
    scope: Literal["platform", "tenant"] | None = None
    backlog: int = 0
    allowed: int = 0

    @property
    def admitted(self) -> bool:
        return self.retry_after == 0


ADMITTED = Verdict(0)


def allowed_backlog(policy: AdmissionPolicy, drain_rate: float | None) -> int:
    if not drain_rate or drain_rate <= 0:
        return policy.floor
    return max(policy.floor, math.floor(policy.slo_seconds * drain_rate))


def judge(
    policy: AdmissionPolicy,
    tenant_id: str | None,
    unfinished: Mapping[str, int],
    drain_rate: float | None,
) -> Verdict:
    total = sum(unfinished.values())
    allowed = allowed_backlog(policy, drain_rate)
    if total >= allowed:
        wait = _seconds_to_drain(total - allowed + 1, drain_rate, policy.retry_after_cap)
        return Verdict(wait, "platform", total, allowed)
    if tenant_id is None:
        return ADMITTED
    mine = unfinished.get(tenant_id, 0)
    quota = policy.quotas.get(tenant_id, max(1, math.floor(policy.share * allowed)))
    if mine >= quota:
        # The tenant's tasks drain at about its part of the backlog's rate.
        rate = drain_rate * mine / total if drain_rate and total else None
        wait = _seconds_to_drain(mine - quota + 1, rate, policy.retry_after_cap)
        return Verdict(wait, "tenant", mine, quota)
    return ADMITTED


def _seconds_to_drain(excess: int, rate: float | None, cap: int) -> int:
    if not rate or rate <= 0:
        return cap
    return max(1, min(cap, math.ceil(excess / rate)))

"""A replica's credit on one online budget (a tenant's endpoint): rate units Redis has
counted already, and in-flight slots Redis holds already, spent here so that most calls
need no round trip.

Neither weakens the limits. A unit is counted in Redis when it is leased, so the
cluster-wide rate is never exceeded; a leased unit unspent within `UNITS_SECONDS` is
dropped (the tenant's rate is spent a little early, never late). A pooled slot is a
member of the budget's sorted set like any other, so every replica still sees it held and
the budget is never exceeded. Redis only leases while the tenant is far from its limits
(`_limit_scripts`: up to half of each): near them every call takes its own unit and slot,
and gives its slot back, as if there were no credit. What a pool can cost is a refusal
of the same tenant on another replica, while its pooled slots sit idle here: at most
half its budget, for at most `IDLE_SECONDS`."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

UNITS_SECONDS = 0.1  # leased rate units unspent this long are dropped
POOL_SECONDS = 10.0  # a pooled slot's hold is this much longer: reusable for that long
IDLE_SECONDS = 0.5  # a pooled slot unused this long goes back to Redis
MAX_LEASE = 64  # rate units leased at once, at most
LEASE_SHARE = 16  # ... and at most this fraction of the rate's limit


@dataclass(slots=True)
class Credit:
    units: int = 0
    units_until: float = 0.0
    # Pooled slots (held with the longer hold) by token: when their hold ends, here.
    pooled: dict[str, float] = field(default_factory=dict)
    # Those of them no call holds now: token -> when it came back.
    free: dict[str, float] = field(default_factory=dict)
    pooling: bool = False  # the last answer from Redis left room to pool
    # A lease of units on its way: calls that find no unit wait for it.
    lease_pending: asyncio.Future[None] | None = None
    lease: int = 0  # units the last lease took
    short: bool = False  # the last lease ran out while fresh: demand outgrew it

    def take_unit(self, now: float) -> bool:
        if self.units > 0 and now < self.units_until:
            self.units -= 1
            return True
        self.short = now < self.units_until
        self.units = 0
        return False

    def lease_size(self, limit: int) -> int:
        """Units to ask for: twice the last lease when it ran out early, else one, so a
        tenant calling now and then never leases what it will not spend."""
        if self.lease_pending is not None or not self.short:
            return 1
        return max(1, min(2 * max(self.lease, 1), MAX_LEASE, limit // LEASE_SHARE))

    def leased(self, wanted: int, taken: int, now: float) -> None:
        """Redis gave `taken` of the `wanted` units; one is the asking call's. Added to
        what is left (another call's lease may have landed meanwhile)."""
        if now >= self.units_until:
            self.units = 0
        self.units += taken - 1
        self.units_until = now + UNITS_SECONDS
        if wanted > 1:
            self.lease = taken

    def take_slot(self, now: float, hold: float) -> str | None:
        """A free pooled slot whose hold outlasts a call of `hold` seconds."""
        for token in self.free:
            if self.pooled[token] - now >= hold:
                del self.free[token]
                return token
        return None

    def put_back(self, token: str | None, now: float) -> None:
        """A slot taken from the pool for a call that did not happen."""
        if token is not None and token in self.pooled:
            self.free[token] = now

    def pool(self, token: str, ends: float) -> None:
        self.pooled[token] = ends

    def give_back(self, token: str, now: float) -> bool:
        """True when the slot stays pooled (free for this replica's next call); False
        when it must go back to Redis."""
        if token not in self.pooled:
            return False
        if not self.pooling:
            del self.pooled[token]
            return False
        self.free[token] = now
        return True

    def sweep(self, now: float, hold: float, *, everything: bool = False) -> list[str]:
        """The free slots to give back now: idle too long, too close to the end of their
        hold for another call, or all of them (contention seen, shutdown)."""
        done = [
            token
            for token, since in self.free.items()
            if everything or now - since >= IDLE_SECONDS or self.pooled[token] - now < hold
        ]
        for token in done:
            del self.free[token]
            del self.pooled[token]
        return done

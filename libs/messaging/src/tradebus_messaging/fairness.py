"""Stochastic fair queueing on the broker: pure naming, lane choice and budgets.

A fair endpoint `<queue>` is fed through a headers exchange `<queue>.fair` that routes
on the `tradebus-lane` header the publisher stamps on every message: a shard
`<queue>.sNN` chosen by a stable hash of the fairness key (the tenant), the bulk lane
`<queue>.bulk` for `bulk` priority. The consumer takes every lane on one channel with
a per-lane prefetch, so one tenant's flood holds at most its lanes' share of what is
in flight while other lanes' messages keep flowing.

A weight w spreads a tenant over w consecutive shards (the key rotates over them), so
it holds w prefetch shares; `high` priority multiplies the weight by HIGH_MULTIPLIER;
`bulk` work from every tenant shares one lane with one shard's share.

The shard is computed by the publisher (the consistent-hash exchange plugin is not a
given on every broker, and a hash ring would place a weighted tenant's w keys on fewer
than w shards a third of the time), so every process must use the same shard count,
as they must use the same delay levels; `tradebus-bus topology verify` shows a
mismatch as missing shard queues.
"""

from __future__ import annotations

import itertools
import math
import zlib
from collections.abc import Iterator, Mapping
from typing import Literal, get_args

Priority = Literal["high", "normal", "bulk"]
PRIORITIES: tuple[Priority, ...] = get_args(Priority)
DEFAULT_PRIORITY: Priority = "normal"
HIGH_MULTIPLIER = 4

# Not `x-...`: a headers exchange ignores binding arguments that start with `x-`.
H_LANE = "tradebus-lane"
BULK_LANE = "bulk"


def fair_exchange(queue: str) -> str:
    return f"{queue}.fair"


def shard_queue(queue: str, shard: int) -> str:
    return f"{queue}.s{shard:02d}"


def lane_queue(queue: str, lane: str) -> str:
    """The queue of a lane header value: `NN` is a shard, `bulk` the bulk lane."""
    return f"{queue}.{lane}" if lane == BULK_LANE else shard_queue(queue, int(lane))


def lanes(shards: int) -> tuple[str, ...]:
    """Every lane header value of an endpoint with `shards` shards."""
    return (*(f"{i:02d}" for i in range(shards)), BULK_LANE)


def lane_queues(queue: str, shards: int) -> tuple[str, ...]:
    return tuple(lane_queue(queue, lane) for lane in lanes(shards))


def lane_prefetch(prefetch: int, shards: int) -> int:
    """Each lane's share of the endpoint's prefetch: rounded up, at least 1."""
    return max(1, math.ceil(prefetch / shards))


def parse_priority(value: object) -> Priority:
    """A priority header or field as a Priority; anything unknown is `normal`."""
    text = value.decode(errors="replace") if isinstance(value, bytes | bytearray) else value
    for priority in PRIORITIES:
        if text == priority:
            return priority
    return DEFAULT_PRIORITY


def parse_weights(text: str) -> dict[str, int]:
    """`tenant-a=3,tenant-b=1` -> {"tenant-a": 3, "tenant-b": 1}."""
    weights: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, raw = item.rpartition("=")
        if not sep or not key.strip():
            raise ValueError(f"fair weight {item!r} is not tenant=weight")
        weight = int(raw)
        if weight < 1:
            raise ValueError(f"fair weight of {key.strip()!r} must be at least 1")
        weights[key.strip()] = weight
    return weights


def stable_hash(key: str) -> int:
    """The same number in every process and every run (unlike `hash`)."""
    return zlib.crc32(key.encode())


class LanePicker:
    """Chooses the lane header of each published message. Per-process rotation over a
    tenant's shards is enough: the share a weight buys is the number of shards."""

    def __init__(self, shards: int, weights: Mapping[str, int] | None = None) -> None:
        if shards < 1:
            raise ValueError("shards must be at least 1")
        self.shards = shards
        self._weights = dict(weights or {})
        self._turns: dict[tuple[str, Priority], Iterator[int]] = {}

    def weight(self, tenant_id: str, priority: Priority) -> int:
        weight = self._weights.get(tenant_id, 1)
        if priority == "high":
            weight *= HIGH_MULTIPLIER
        return min(self.shards, weight)

    def home(self, tenant_id: str) -> int:
        return stable_hash(tenant_id) % self.shards

    def shards_of(self, tenant_id: str, priority: Priority = DEFAULT_PRIORITY) -> list[int]:
        """The shards a tenant's messages of that priority spread over (consecutive)."""
        home = self.home(tenant_id)
        return [(home + i) % self.shards for i in range(self.weight(tenant_id, priority))]

    def lane(self, tenant_id: str | None, priority: Priority = DEFAULT_PRIORITY) -> str:
        if priority == "bulk":
            return BULK_LANE
        tenant = tenant_id or ""
        turns = self._turns.get((tenant, priority))
        if turns is None:
            turns = self._turns[(tenant, priority)] = itertools.cycle(
                self.shards_of(tenant, priority)
            )
        return f"{next(turns):02d}"

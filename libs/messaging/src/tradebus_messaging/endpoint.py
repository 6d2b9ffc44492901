"""What one consumer endpoint is: its queue, the types it reads, its handler and budgets."""

from __future__ import annotations

from dataclasses import dataclass, field

from tradebus_contracts import Contract

from .context import Handler
from .fairness import lane_prefetch, lane_queues
from .topology import QueueType


@dataclass(slots=True)
class Endpoint:
    queue: str
    exchange: str
    models: dict[str, type[Contract]]
    handler: Handler
    prefetch: int
    concurrency: int
    # hard limit on one handler run; past it the run is cancelled and retried or parked
    time_limit_seconds: float
    use_inbox: bool = False
    queue_type: QueueType = "quorum"
    rpc: bool = False
    # extra routing keys to bind (e.g. an event pattern) beyond the model types
    bind_keys: tuple[str, ...] = field(default=())
    # per-replica queues: deleted after this long without a consumer (x-expires)
    expires_ms: int | None = None
    # the endpoint whose parking lot takes this queue's failures (default: its own)
    parking: str | None = None
    # consumption rate across every replica (`10/minute`), None: unlimited
    rate_limit: str | None = None
    # fair endpoints: this many shard queues behind `<queue>.fair` (0: one plain queue)
    fair_shards: int = 0

    @property
    def routing_keys(self) -> tuple[str, ...]:
        return self.bind_keys or tuple(self.models)

    @property
    def parking_key(self) -> str:
        return self.parking or self.queue

    @property
    def consumed_queues(self) -> tuple[str, ...]:
        """The queues the consumer takes from: the endpoint's, then its lanes."""
        if not self.fair_shards:
            return (self.queue,)
        return (self.queue, *lane_queues(self.queue, self.fair_shards))

    @property
    def consumer_prefetch(self) -> int:
        """basic.qos per consumer: a fair endpoint's prefetch is shared by its lanes."""
        if not self.fair_shards:
            return self.prefetch
        return lane_prefetch(self.prefetch, self.fair_shards)

    @property
    def max_in_flight(self) -> int:
        return self.consumer_prefetch * len(self.consumed_queues)

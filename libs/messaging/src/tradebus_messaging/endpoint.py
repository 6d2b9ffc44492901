"""What one consumer endpoint is: its queue, the types it reads, its handler and budgets."""

from __future__ import annotations

from dataclasses import dataclass, field

from tradebus_contracts import Contract

from .context import Handler
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

    @property
    def routing_keys(self) -> tuple[str, ...]:
        return self.bind_keys or tuple(self.models)

    @property
    def parking_key(self) -> str:
        return self.parking or self.queue

"""The RabbitMQ topology as plain data: what to declare, and what `verify` compares.

Exchanges (all durable):
  tradebus.commands  direct  commands, routing key = message type
  tradebus.events    topic   events, routing key = message type
  tradebus.retry     topic   entry of the delayed-retry network
  tradebus.dlx       direct  parking: routing key = queue name -> <queue>.dlq

Delayed retry follows the binary-level design NServiceBus and Celery 5.5 use: level
k is a TTL queue holding messages for 2^k seconds. The routing key of a delayed
message is its delay written as `levels` bits (highest first) followed by the
destination queue name; each level's exchange sends the message into its queue
when its bit is 1 and straight down to the next level when it is 0. After level 0
the `tradebus.retry.deliver` exchange hands it to the destination queue. Any delay
up to 2^levels - 1 seconds costs at most `levels` hops, and nothing waits in a
consumer's prefetch window.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

_T = TypeVar("_T")

COMMANDS = "tradebus.commands"
EVENTS = "tradebus.events"
RETRY = "tradebus.retry"
DLX = "tradebus.dlx"
DELIVER = "tradebus.retry.deliver"
DELAY_PREFIX = "tradebus.delay."

ExchangeType = Literal["direct", "topic", "fanout", "headers"]
QueueType = Literal["quorum", "classic"]


@dataclass(frozen=True, slots=True)
class ExchangeSpec:
    name: str
    type: ExchangeType
    durable: bool = True
    # exchange arguments (e.g. `alternate-exchange`), as pairs so the spec stays hashable
    arguments: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class QueueSpec:
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    durable: bool = True


@dataclass(frozen=True, slots=True)
class BindingSpec:
    source: str
    destination: str
    routing_key: str
    destination_type: Literal["queue", "exchange"] = "queue"
    # binding arguments (a headers exchange's match), as pairs so the spec stays hashable
    arguments: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Topology:
    exchanges: tuple[ExchangeSpec, ...] = ()
    queues: tuple[QueueSpec, ...] = ()
    bindings: tuple[BindingSpec, ...] = ()

    def __add__(self, other: Topology) -> Topology:
        return Topology(
            _unique(self.exchanges + other.exchanges),
            _unique(self.queues + other.queues),
            _unique(self.bindings + other.bindings),
        )


def _unique(items: tuple[_T, ...]) -> tuple[_T, ...]:
    # QueueSpec holds a dict, so dedupe on the printed form rather than hashing.
    return tuple({repr(item): item for item in items}.values())


def delay_level_name(level: int) -> str:
    return f"{DELAY_PREFIX}{level:02d}"


def parking_queue(queue: str) -> str:
    return f"{queue}.dlq"


def delay_routing_key(delay_seconds: int, queue: str, levels: int) -> str:
    """The routing key that makes the delay network hold a message `delay_seconds`."""
    max_delay = (1 << levels) - 1
    delay = max(0, min(int(delay_seconds), max_delay))
    bits = ".".join("1" if delay >> level & 1 else "0" for level in reversed(range(levels)))
    return f"{bits}.{queue}"


def deliver_routing_key(queue: str, levels: int) -> str:
    """The key binding `queue` to the deliver exchange: one wildcard per delay level."""
    return "*." * levels + queue


def deliver_binding(queue: str, levels: int) -> BindingSpec:
    """Where the delay network hands `queue`'s delayed messages back to it."""
    return BindingSpec(DELIVER, queue, deliver_routing_key(queue, levels))


def parking_lot_of(parking_key: str) -> tuple[QueueSpec, BindingSpec]:
    """The lot `<parking_key>.dlq` and the dead-letter binding that fills it."""
    lot = parking_queue(parking_key)
    return QueueSpec(lot, {"x-queue-type": "quorum"}), BindingSpec(DLX, lot, parking_key)


def base_topology(levels: int) -> Topology:
    exchanges = [
        ExchangeSpec(COMMANDS, "direct"),
        ExchangeSpec(EVENTS, "topic"),
        ExchangeSpec(RETRY, "topic"),
        ExchangeSpec(DLX, "direct"),
        ExchangeSpec(DELIVER, "topic"),
    ]
    queues: list[QueueSpec] = []
    bindings = [BindingSpec(RETRY, delay_level_name(levels - 1), "#", "exchange")]
    for level in reversed(range(levels)):
        name = delay_level_name(level)
        lower = delay_level_name(level - 1) if level > 0 else DELIVER
        prefix = "*." * (levels - 1 - level)
        exchanges.append(ExchangeSpec(name, "topic"))
        queues.append(
            QueueSpec(
                name,
                {
                    "x-queue-type": "quorum",
                    "x-message-ttl": (1 << level) * 1000,
                    "x-dead-letter-exchange": lower,
                    # at-least-once: a hop never loses a message, even if the
                    # next level is briefly unavailable.
                    "x-dead-letter-strategy": "at-least-once",
                    "x-overflow": "reject-publish",
                },
            )
        )
        bindings.append(BindingSpec(name, name, f"{prefix}1.#"))
        bindings.append(BindingSpec(name, lower, f"{prefix}0.#", "exchange"))
    return Topology(tuple(exchanges), tuple(queues), tuple(bindings))


def work_queue_arguments(
    queue: str, *, queue_type: QueueType, delivery_limit: int, parking: str | None = None
) -> dict[str, Any]:
    parking_key = parking or queue
    if queue_type == "classic":
        # Benchmarks, peers and per-replica queues: no delivery limit, at-most-once
        # dead-lettering.
        return {
            "x-queue-type": "classic",
            "x-dead-letter-exchange": DLX,
            "x-dead-letter-routing-key": parking_key,
        }
    return {
        "x-queue-type": "quorum",
        "x-delivery-limit": delivery_limit,
        "x-dead-letter-exchange": DLX,
        "x-dead-letter-routing-key": parking_key,
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
    }


def endpoint_topology(
    queue: str,
    *,
    exchange: str,
    routing_keys: tuple[str, ...],
    levels: int,
    queue_type: QueueType = "quorum",
    delivery_limit: int = 20,
    dead_letter: bool = True,
    expires_ms: int | None = None,
    parking: str | None = None,
    parking_lot: bool | None = None,
) -> Topology:
    """A consumer endpoint: its work queue, its parking lot and the bindings that feed both.

    `expires_ms` makes the work queue delete itself after that long without a consumer
    (`x-expires`): a per-replica queue must not outlive a dead replica. `parking` names
    the endpoint whose parking lot (`<parking>.dlq`, routing key `<parking>`) takes this
    queue's failures, so replicas with queues of their own share one durable parking
    lot instead of leaving one behind per replica. `parking_lot` declares the lot even
    without broker dead-lettering (RPC queues: the runtime parks what it cannot read)."""
    parking_key = parking or queue
    args = work_queue_arguments(
        queue, queue_type=queue_type, delivery_limit=delivery_limit, parking=parking_key
    )
    if not dead_letter:
        for key in list(args):
            if key.startswith("x-dead-letter") or key == "x-overflow":
                del args[key]
    if expires_ms is not None:
        args["x-expires"] = int(expires_ms)
    queues = [QueueSpec(queue, args)]
    bindings = [BindingSpec(exchange, queue, key) for key in routing_keys]
    bindings.append(deliver_binding(queue, levels))
    if dead_letter if parking_lot is None else parking_lot:
        lot, feeds_lot = parking_lot_of(parking_key)
        queues.append(lot)
        bindings.append(feeds_lot)
    return Topology((), tuple(queues), tuple(bindings))

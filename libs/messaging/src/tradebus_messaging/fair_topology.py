"""The broker objects of a fair endpoint (see fairness.py):

  <exchange> --(message types)--> <queue>.fair   headers exchange, on tradebus-lane
  <queue>.fair --(lane NN)------> <queue>.sNN    quorum shard queues
  <queue>.fair --(lane bulk)----> <queue>.bulk   the bulk lane
  <queue>.fair --(no such lane)--> <queue>.fair.rest (alternate exchange) -> <queue>
  tradebus.retry.deliver -------> every lane     retries come back to their own lane
  every lane --(dead letter)----> tradebus.dlx -> <queue>.dlq   one shared parking lot

`<queue>` itself stays, consumed like a lane: messages queued, retries scheduled and
parked copies recorded before the endpoint became fair still arrive there, and so does
a message no lane matches (a publisher without the lane header, or with more shards
configured than the consumer), instead of being refused as unroutable.
"""

from __future__ import annotations

from .fairness import H_LANE, fair_exchange, lane_queue, lanes
from .topology import (
    BindingSpec,
    ExchangeSpec,
    QueueSpec,
    Topology,
    deliver_binding,
    parking_lot_of,
    work_queue_arguments,
)


def fair_endpoint_topology(
    queue: str,
    *,
    exchange: str,
    routing_keys: tuple[str, ...],
    levels: int,
    shards: int,
    delivery_limit: int = 20,
) -> Topology:
    fair = fair_exchange(queue)
    rest = f"{fair}.rest"
    args = work_queue_arguments(queue, queue_type="quorum", delivery_limit=delivery_limit)
    queues = [QueueSpec(queue, args)]
    bindings = [
        deliver_binding(queue, levels),
        BindingSpec(rest, queue, ""),
    ]
    bindings += [BindingSpec(exchange, fair, key, "exchange") for key in routing_keys]
    for lane in lanes(shards):
        name = lane_queue(queue, lane)
        # dead-lettered under the endpoint's name: one parking lot for every lane
        queues.append(QueueSpec(name, dict(args)))
        match = (("x-match", "all"), (H_LANE, lane))
        bindings.append(BindingSpec(fair, name, "", arguments=match))
        bindings.append(deliver_binding(name, levels))
    lot, feeds_lot = parking_lot_of(queue)
    queues.append(lot)
    bindings.append(feeds_lot)
    exchanges = (
        ExchangeSpec(fair, "headers", arguments=(("alternate-exchange", rest),)),
        ExchangeSpec(rest, "fanout"),
    )
    return Topology(exchanges, tuple(queues), tuple(bindings))

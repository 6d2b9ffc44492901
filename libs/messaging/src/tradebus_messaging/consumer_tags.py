"""Consumer tags that name their queue (`<queue>.<run>`), so a delivery says which
queue it came from: a fair endpoint consumes its own queue and every lane on one
channel, and a retry or replay must go back to the lane it left."""

from __future__ import annotations

import uuid

from aiormq.abc import DeliveredMessage

from .endpoint import Endpoint


def consumer_tags(endpoint: Endpoint) -> dict[str, str]:
    """Consumer tag -> queue, one per consumed queue, fresh for each (re)start."""
    run = uuid.uuid4().hex[:12]
    return {f"{q}.{run}": q for q in endpoint.consumed_queues}


def lane_of(msg: DeliveredMessage, endpoint: Endpoint) -> str:
    """The queue a delivery came from (a fair endpoint consumes several)."""
    tag = str(msg.delivery.consumer_tag)  # type: ignore[union-attr]
    queue = tag.rpartition(".")[0]
    return queue if queue in endpoint.consumed_queues else endpoint.queue

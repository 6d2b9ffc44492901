"""A fair endpoint's backlog is spread over its queue and its lanes (`<queue>.sNN`,
`<queue>.bulk`): readers that judge an endpoint by its depth see the sum. Pure."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # queue_stats uses this module
    from .queue_stats import QueueStats

_LANE = re.compile(r"^(?P<endpoint>.+)\.(s\d{2}|bulk)$")


def endpoint_of(name: str, known: set[str]) -> str:
    """The endpoint a queue belongs to: a lane's when its endpoint queue exists too."""
    match = _LANE.match(name)
    if match and match["endpoint"] in known:
        return match["endpoint"]
    return name


def by_endpoint(stats: Iterable[QueueStats]) -> dict[str, QueueStats]:
    """Per endpoint: ready, unacked and consumers summed; the oldest message of any."""
    rows = list(stats)
    known = {s.name for s in rows}
    out: dict[str, QueueStats] = {}
    for s in rows:
        name = endpoint_of(s.name, known)
        seen = out.get(name)
        out[name] = (
            replace(s, name=name)
            if seen is None
            else replace(
                seen,
                ready=seen.ready + s.ready,
                unacked=seen.unacked + s.unacked,
                consumers=seen.consumers + s.consumers,
                oldest_age_seconds=max(seen.oldest_age_seconds, s.oldest_age_seconds),
            )
        )
    return out

"""Compare the declared topology with the live broker (management HTTP API)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from .fair_topology import fair_endpoint_topology
from .fairness import fair_exchange
from .settings import BusSettings
from .topology import (
    DELAY_PREFIX,
    DELIVER,
    Topology,
    deliver_routing_key,
    endpoint_topology,
    parking_queue,
)


@dataclass(frozen=True, slots=True)
class Drift:
    kind: str  # exchange | queue | binding
    name: str
    problem: str

    def __str__(self) -> str:
        return f"{self.kind} {self.name}: {self.problem}"


@dataclass(frozen=True, slots=True)
class LiveState:
    exchanges: dict[str, dict[str, Any]]
    queues: dict[str, dict[str, Any]]
    bindings: set[tuple[str, str, str, str]]  # source, destination, type, routing key


def compare(expected: Topology, live: LiveState) -> list[Drift]:
    """Pure: every way the live broker differs from what we would declare."""
    levels = sum(1 for q in expected.queues if q.name.startswith(DELAY_PREFIX))
    drift: list[Drift] = []
    for ex in expected.exchanges:
        got = live.exchanges.get(ex.name)
        if got is None:
            drift.append(Drift("exchange", ex.name, "missing"))
            continue
        if got.get("type") != ex.type:
            drift.append(Drift("exchange", ex.name, f"type {got.get('type')} != {ex.type}"))
        if bool(got.get("durable")) != ex.durable:
            drift.append(Drift("exchange", ex.name, f"durable {got.get('durable')}"))
    for q in expected.queues:
        got = live.queues.get(q.name)
        if got is None:
            drift.append(Drift("queue", q.name, "missing"))
            continue
        live_args = got.get("arguments") or {}
        for key, value in q.arguments.items():
            if live_args.get(key) != value:
                drift.append(
                    Drift(
                        "queue",
                        q.name,
                        f"argument {key}={live_args.get(key)!r}, expected {value!r}",
                    )
                )
        for key in live_args.keys() - q.arguments.keys():
            drift.append(Drift("queue", q.name, f"unexpected argument {key}={live_args[key]!r}"))
        if bool(got.get("durable")) != q.durable:
            drift.append(Drift("queue", q.name, f"durable {got.get('durable')}"))
    wanted = {
        (b.source, b.destination, b.destination_type, b.routing_key) for b in expected.bindings
    }
    for source, destination, _, routing_key in sorted(wanted - live.bindings):
        drift.append(
            Drift("binding", f"{source} -> {destination}", f"missing routing key {routing_key!r}")
        )
    # A stray binding inside the delay network (e.g. left by a process running
    # another level count) silently shortens or duplicates delays. Deliver
    # bindings of endpoints we were not asked about are fine when well-formed.
    known = {q.name for q in expected.queues}
    for source, destination, _, routing_key in sorted(live.bindings - wanted):
        if (
            source == DELIVER
            and destination not in known
            and routing_key == deliver_routing_key(destination, levels)
        ):
            continue
        if source.startswith(_NETWORK_PREFIXES):
            drift.append(
                Drift(
                    "binding",
                    f"{source} -> {destination}",
                    f"unexpected routing key {routing_key!r}",
                )
            )
    return drift


_NETWORK_PREFIXES = ("tradebus.delay.", "tradebus.retry")


async def fetch_live(management_url: str, vhost: str = "/") -> LiveState:
    base = management_url.rstrip("/")
    auth = None
    url = httpx.URL(base)
    if url.username:
        auth = (url.username, url.password or "")
        base = str(url.copy_with(username=None, password=None)).rstrip("/")
    v = quote(vhost, safe="")
    async with httpx.AsyncClient(base_url=base, auth=auth, timeout=10) as client:
        exchanges = await _get(client, f"/api/exchanges/{v}")
        queues = await _get(client, f"/api/queues/{v}?columns=name,durable,arguments,type")
        bindings = await _get(client, f"/api/bindings/{v}")
    return LiveState(
        exchanges={e["name"]: e for e in exchanges},
        queues={q["name"]: q for q in queues},
        bindings={
            (b["source"], b["destination"], b["destination_type"], b["routing_key"])
            for b in bindings
        },
    )


async def _get(client: httpx.AsyncClient, path: str) -> list[dict[str, Any]]:
    response = await client.get(path)
    response.raise_for_status()
    return list(response.json())


def discovered_endpoints(live: LiveState, settings: BusSettings) -> Topology:
    """Every live queue with a parking lot is one of our endpoints: check the
    invariants all endpoints share (arguments, parking and retry bindings)."""
    topo = Topology()
    for name, queue in live.queues.items():
        if name.endswith(".dlq") or parking_queue(name) not in live.queues:
            continue
        queue_type = (queue.get("arguments") or {}).get("x-queue-type", "classic")
        if fair_exchange(name) in live.exchanges:  # a fair endpoint: every lane too
            topo = topo + fair_endpoint_topology(
                name,
                exchange="",
                routing_keys=(),
                levels=settings.delay_levels,
                shards=settings.fair_shards,
                delivery_limit=settings.delivery_limit,
            )
            continue
        topo = topo + endpoint_topology(
            name,
            exchange="",
            routing_keys=(),
            levels=settings.delay_levels,
            queue_type="quorum" if queue_type == "quorum" else "classic",
            delivery_limit=settings.delivery_limit,
        )
    # endpoint_topology adds an exchange binding per routing key; none were given.
    return Topology(topo.exchanges, topo.queues, tuple(b for b in topo.bindings if b.source))

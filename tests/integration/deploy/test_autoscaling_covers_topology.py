"""Every work queue a worker declares has an autoscaling trigger, in both autoscaling
components, and no trigger names a queue nobody consumes. The expected queues come
from each service's own composition root (`build(...)` then `bus.topology()`), so a
queue added to a service fails here until the manifests scale on it.

Integration: `build` opens MongoDB (some services ensure indexes); nothing connects
to the broker."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.autoscaling import hpa_metric_queues, keda_trigger_queues
from tests.support.infra import require_mongodb
from tradebus_messaging import BusSettings
from tradebus_messaging.topology import DELAY_PREFIX
from tradebus_storage import MongoSettings

K8S = Path(__file__).resolve().parents[3] / "deploy" / "k8s"
SETTINGS = {
    "dealbrain": "DealbrainSettings",
    "shadowhunter": "ShadowhunterSettings",
    "omnirag-ingest": "OmniragIngestSettings",
    "omnirag-embed": "OmniragEmbedSettings",
    "notifier": "NotifierSettings",
}
WORKERS = sorted(SETTINGS)


def work_queues(topology: Any) -> set[str]:
    """What a backlog can build up in: not the delay network, not parking lots, not a
    replica's own fan-out queue (`x-expires`)."""
    return {
        q.name
        for q in topology.queues
        if not q.name.startswith(DELAY_PREFIX)
        and not q.name.endswith(".dlq")
        and "x-expires" not in q.arguments
    }


async def declared_queues(service: str, database: str) -> set[str]:
    module = "tradebus_" + service.replace("-", "_")
    app = importlib.import_module(f"{module}.app")
    settings_cls = getattr(importlib.import_module(f"{module}.settings"), SETTINGS[service])
    worker = await app.build(
        settings_cls(),
        bus_settings=BusSettings(service=service),
        mongo=MongoSettings(url=require_mongodb(), database=database),
    )
    try:
        return work_queues(worker.bus.topology())
    finally:
        if worker.on_stop is not None:
            await worker.on_stop()


def keda_triggers() -> dict[str, list[dict[str, Any]]]:
    docs = yaml.safe_load_all((K8S / "components/keda/scaledobjects.yaml").read_text())
    return {
        d["spec"]["scaleTargetRef"]["name"]: d["spec"]["triggers"]
        for d in docs
        if d and d["kind"] == "ScaledObject"
    }


def hpa_metrics() -> dict[str, list[dict[str, Any]]]:
    docs = yaml.safe_load_all((K8S / "components/hpa-external/hpa.yaml").read_text())
    return {d["spec"]["scaleTargetRef"]["name"]: d["spec"]["metrics"] for d in docs if d}


def assert_partition(covered: list[set[str]], queues: set[str], where: str) -> None:
    """Every queue under exactly one trigger; no trigger without a queue."""
    assert all(covered), f"{where}: a trigger covers no declared queue: {covered}"
    assert set().union(*covered) == queues, where
    assert sum(map(len, covered)) == len(queues), f"{where}: a queue counted twice"


@pytest.mark.parametrize("service", WORKERS)
async def test_every_work_queue_of_a_worker_has_a_trigger(service: str, mongo: Any) -> None:
    _, db = mongo  # the fixture drops this database afterwards
    queues = await declared_queues(service, db.name)
    assert queues, f"{service} declares no work queue?"
    keda = [keda_trigger_queues(t, queues) for t in keda_triggers()[service]]
    assert_partition(keda, queues, "components/keda/scaledobjects.yaml")
    hpa = [hpa_metric_queues(m) for m in hpa_metrics()[service]]
    assert_partition(hpa, queues, "components/hpa-external/hpa.yaml")


def test_every_worker_is_autoscaled_and_nothing_else() -> None:
    assert set(keda_triggers()) == set(WORKERS)
    assert set(hpa_metrics()) == set(WORKERS)


def test_the_filter_keeps_work_and_drops_lots_delays_and_replica_queues() -> None:
    from tradebus_messaging.fair_topology import fair_endpoint_topology
    from tradebus_messaging.topology import Topology, base_topology, endpoint_topology

    topo = base_topology(3) + endpoint_topology(
        "svc.work", exchange="tradebus.commands", routing_keys=("a.b.c.v1",), levels=3
    )
    topo = topo + endpoint_topology(
        "svc.refresh.pod-1",
        exchange="tradebus.events",
        routing_keys=("a.b.d.v1",),
        levels=3,
        expires_ms=60_000,
        parking="svc.refresh",
    )
    assert isinstance(topo, Topology)
    assert work_queues(topo) == {"svc.work"}
    fair = fair_endpoint_topology(
        "svc.fair", exchange="tradebus.commands", routing_keys=("a.b.e.v1",), levels=3, shards=2
    )
    assert work_queues(fair) == {"svc.fair", "svc.fair.s00", "svc.fair.s01", "svc.fair.bulk"}


def test_a_regex_trigger_covers_a_fair_endpoint_and_nothing_else() -> None:
    trigger = next(
        t for t in keda_triggers()["omnirag-embed"] if t["metadata"].get("useRegex") == "true"
    )
    lanes = {"omnirag-embed.embed", "omnirag-embed.embed.s07", "omnirag-embed.embed.bulk"}
    others = {"omnirag-embed.embed.dlq", "omnirag-embed.embedder", "x.omnirag-embed.embed"}
    assert keda_trigger_queues(trigger, lanes | others) == lanes

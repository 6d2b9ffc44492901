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


def keda_triggers() -> dict[str, set[str]]:
    docs = yaml.safe_load_all((K8S / "components/keda/scaledobjects.yaml").read_text())
    return {
        d["spec"]["scaleTargetRef"]["name"]: {
            t["metadata"]["queueName"] for t in d["spec"]["triggers"]
        }
        for d in docs
        if d and d["kind"] == "ScaledObject"
    }


def hpa_queues() -> dict[str, set[str]]:
    docs = yaml.safe_load_all((K8S / "components/hpa-external/hpa.yaml").read_text())
    return {
        d["spec"]["scaleTargetRef"]["name"]: {
            m["external"]["metric"]["selector"]["matchLabels"]["queue"]
            for m in d["spec"]["metrics"]
        }
        for d in docs
        if d
    }


@pytest.mark.parametrize("service", WORKERS)
async def test_every_work_queue_of_a_worker_has_a_trigger(service: str, mongo: Any) -> None:
    _, db = mongo  # the fixture drops this database afterwards
    queues = await declared_queues(service, db.name)
    assert queues, f"{service} declares no work queue?"
    assert keda_triggers()[service] == queues, "components/keda/scaledobjects.yaml"
    assert hpa_queues()[service] == queues, "components/hpa-external/hpa.yaml"


def test_every_worker_is_autoscaled_and_nothing_else() -> None:
    assert set(keda_triggers()) == set(WORKERS)
    assert set(hpa_queues()) == set(WORKERS)


def test_the_filter_keeps_work_and_drops_lots_delays_and_replica_queues() -> None:
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

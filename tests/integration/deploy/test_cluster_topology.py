"""What deploy/README.md says of running on a RabbitMQ cluster, checked on the real
broker: every queue a worker declares that holds accepted work, a retry in the delay
network or a parked message is a quorum queue (replicated; it survives a node loss), as
the broker itself reports it; the only classic queues are RPC request queues and
per-replica refresh queues (`x-expires`), whose loss costs no accepted work.

Each worker's topology comes from its own composition root and is declared into a
vhost of this test's own."""

from __future__ import annotations

import importlib
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import aio_pika
import httpx
import pytest

from tests.support.infra import MANAGEMENT_URL, require_mongodb
from tradebus_messaging import BusSettings
from tradebus_messaging.declare import declare
from tradebus_messaging.topology import DELAY_PREFIX
from tradebus_storage import MongoSettings

pytestmark = pytest.mark.integration

SETTINGS = {
    "dealbrain": "DealbrainSettings",
    "shadowhunter": "ShadowhunterSettings",
    "omnirag-ingest": "OmniragIngestSettings",
    "omnirag-embed": "OmniragEmbedSettings",
    "notifier": "NotifierSettings",
}


async def build_worker(service: str, vhost_url: str, database: str) -> Any:
    module = "tradebus_" + service.replace("-", "_")
    app = importlib.import_module(f"{module}.app")
    settings_cls = getattr(importlib.import_module(f"{module}.settings"), SETTINGS[service])
    return await app.build(
        settings_cls(),
        bus_settings=BusSettings(service=service, url=vhost_url),
        mongo=MongoSettings(url=require_mongodb(), database=database),
    )


async def broker_queues(vhost_url: str) -> dict[str, dict[str, Any]]:
    url = httpx.URL(MANAGEMENT_URL)
    vhost = unquote(urlsplit(vhost_url).path.lstrip("/"))
    async with httpx.AsyncClient(
        base_url=str(url.copy_with(username=None, password=None)),
        auth=(url.username or "guest", url.password or "guest"),
        timeout=10,
    ) as api:
        response = await api.get(f"/api/queues/{quote(vhost, safe='')}")
        response.raise_for_status()
        return {q["name"]: q for q in response.json()}


@pytest.mark.parametrize("service", sorted(SETTINGS))
async def test_what_holds_work_is_replicated_on_the_broker(
    service: str, vhost: str, mongo: Any
) -> None:
    _, db = mongo
    worker = await build_worker(service, vhost, db.name)
    try:
        topology = worker.bus.topology()
        # The bus keeps its endpoints private; the test reads which ones answer RPC.
        rpc = {e.queue for e in worker.bus._endpoints if e.rpc}
    finally:
        if worker.on_stop is not None:
            await worker.on_stop()
    connection = await aio_pika.connect(vhost)
    async with connection:
        await declare(await connection.channel(), topology)
    live = await broker_queues(vhost)

    declared = {q.name: q for q in topology.queues}
    assert set(live) == set(declared)
    classic = set()
    for name, queue in live.items():
        assert queue["type"] == declared[name].arguments["x-queue-type"], name
        assert queue["durable"] is True, name
        if queue["type"] != "quorum":
            classic.add(name)
    expiring = {name for name, q in declared.items() if "x-expires" in q.arguments}
    assert classic <= rpc | expiring, f"{service}: classic queues holding work: {classic}"
    delays = {name for name in live if name.startswith(DELAY_PREFIX)}
    lots = {name for name in live if name.endswith(".dlq")}
    assert delays and lots
    assert not (delays | lots) & classic

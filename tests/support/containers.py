"""RabbitMQ and MongoDB in throwaway containers, for a machine whose Docker engine answers
and which names no servers of its own (tests/support/infra.py decides). Started once per
test process, on first use, from the images docker-compose.yml pins; stopped at exit
(testcontainers' reaper removes them if the process dies). testcontainers is imported
only here and only then: a machine without Docker never loads it."""

from __future__ import annotations

import atexit
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

COMPOSE = Path(__file__).resolve().parents[2] / "docker-compose.yml"
START_TIMEOUT_SECONDS = 120.0


@dataclass(frozen=True)
class RabbitMQ:
    url: str
    management_url: str


def compose_image(service: str) -> str:
    """The image the stack runs, so the tests meet the same broker and database."""
    return str(yaml.safe_load(COMPOSE.read_text())["services"][service]["image"])


def _started(container: Any) -> Any:
    container.start()
    atexit.register(container.stop)
    return container


@cache
def rabbitmq() -> RabbitMQ:
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.wait_strategies import LogMessageWaitStrategy

    broker = _started(
        DockerContainer(compose_image("rabbitmq"))
        .with_exposed_ports(5672, 15672)
        .waiting_for(LogMessageWaitStrategy("Server startup complete"))
    )
    host = broker.get_container_host_ip()
    amqp, http = broker.get_exposed_port(5672), broker.get_exposed_port(15672)
    # The official image lets guest log in from outside localhost (a mapped port).
    return RabbitMQ(
        url=f"amqp://guest:guest@{host}:{amqp}/",
        management_url=f"http://guest:guest@{host}:{http}",
    )


@cache
def mongodb_url() -> str:
    """A one-node replica set, as in compose: transactions back the idempotency inbox."""
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.wait_strategies import LogMessageWaitStrategy

    mongo = _started(
        DockerContainer(compose_image("mongo"))
        .with_command("--replSet rs0 --bind_ip_all")
        .with_exposed_ports(27017)
        .waiting_for(LogMessageWaitStrategy("Waiting for connections"))
    )
    members = "[{_id: 0, host: '127.0.0.1:27017'}]"
    _mongosh(mongo, f"rs.initiate({{_id: 'rs0', members: {members}}}).ok")
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while _mongosh(mongo, "db.hello().isWritablePrimary") != "true":
        if time.monotonic() > deadline:
            raise TimeoutError("the MongoDB container never became primary")
        time.sleep(0.5)
    host, port = mongo.get_container_host_ip(), mongo.get_exposed_port(27017)
    return f"mongodb://{host}:{port}/?directConnection=true"


def _mongosh(container: Any, script: str) -> str:
    result = container.exec(["mongosh", "--quiet", "--eval", script])
    return bytes(result.output).decode().strip()

"""Where the test servers are, and a clear failure when they are not there.

Each server comes from one source (`infra_source`): the URL the environment sets; else,
where a Docker engine answers, a throwaway container (tests/support/containers.py);
else the local default. `make test` (scripts/with-infra.sh) starts local servers and
sets their URLs, so it always takes the first way."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from functools import cache
from typing import Literal
from urllib.parse import urlsplit

import pytest

DEFAULT_RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672/"
DEFAULT_MONGODB_URL = "mongodb://127.0.0.1:27017/?directConnection=true"
DEFAULT_MANAGEMENT_URL = "http://guest:guest@127.0.0.1:15672"
DEFAULT_DOCKER_SOCKET = "/var/run/docker.sock"

Source = Literal["env", "testcontainers", "local"]


def infra_source(env_url: str | None, docker_answers: Callable[[], bool]) -> Source:
    """The environment's URL wins; else containers where a Docker engine answers; else
    the local default. The probe runs only when no URL is set."""
    if env_url:
        return "env"
    if docker_answers():
        return "testcontainers"
    return "local"


def docker_answers(
    docker_host: str | None = None, socket_path: str = DEFAULT_DOCKER_SOCKET, timeout: float = 1.0
) -> bool:
    """Whether a Docker engine answers `GET /_ping` at DOCKER_HOST (unix:// or plain
    tcp://) or, without one, at the default socket. Other transports count as absent."""
    parts = urlsplit(docker_host or f"unix://{socket_path}")
    try:
        if parts.scheme == "unix":
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            sock.connect(parts.path)
        elif parts.scheme in {"tcp", "http"}:
            address = (parts.hostname or "127.0.0.1", parts.port or 2375)
            sock = socket.create_connection(address, timeout=timeout)
        else:
            return False
        with sock:
            sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            status = sock.recv(64).split(b"\r\n", 1)[0]
    except OSError:
        return False
    return status.startswith(b"HTTP/1.") and b" 200" in status


@cache
def _docker_answers() -> bool:
    return docker_answers(os.environ.get("DOCKER_HOST"))


def rabbitmq_url() -> str:
    configured = os.environ.get("RABBITMQ_URL")
    source = infra_source(configured, _docker_answers)
    if source == "env" and configured:
        return configured
    if source == "testcontainers":
        from .containers import rabbitmq

        return rabbitmq().url
    return DEFAULT_RABBITMQ_URL


def mongodb_url() -> str:
    configured = os.environ.get("MONGODB_URL")
    source = infra_source(configured, _docker_answers)
    if source == "env" and configured:
        return configured
    if source == "testcontainers":
        from .containers import mongodb_url as container_url

        return container_url()
    return DEFAULT_MONGODB_URL


def management_url() -> str:
    """The broker's management API: set beside RABBITMQ_URL, the container's, or local."""
    configured = os.environ.get("TRADEBUS_BUS_MANAGEMENT_URL")
    if configured:
        return configured
    if infra_source(os.environ.get("RABBITMQ_URL"), _docker_answers) == "testcontainers":
        from .containers import rabbitmq

        return rabbitmq().management_url
    return DEFAULT_MANAGEMENT_URL


def __getattr__(name: str) -> str:
    # `from tests.support.infra import MANAGEMENT_URL` keeps working, resolved when first
    # imported (a container starts only where one is the source).
    if name == "MANAGEMENT_URL":
        return management_url()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    port = parts.port or default_port
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def require_rabbitmq() -> str:
    url = rabbitmq_url()
    if not _reachable(url, 5672):
        pytest.fail(
            f"RabbitMQ is not reachable at {url}. Start it with `scripts/ensure-rabbitmq.sh` "
            "(or `rabbitmq-server -detached`), or run the suite through `make test`.",
            pytrace=False,
        )
    return url


def require_mongodb() -> str:
    url = mongodb_url()
    if not _reachable(url, 27017):
        pytest.fail(
            f"MongoDB is not reachable at {url}. Start the embedded server with "
            "`scripts/mongo.sh start`, set MONGODB_URL, or run the suite through `make test`.",
            pytrace=False,
        )
    return url


def require_redis() -> str:
    """The Redis that gateway replicas share limits through (`make test` starts the
    machine's redis-server and sets REDIS_URL)."""
    url = os.environ.get("REDIS_URL", "")
    if not url or not _reachable(url, 6379):
        pytest.fail(
            f"Redis is not reachable at {url or '(REDIS_URL unset)'}. Start it with "
            "`scripts/ensure-redis.sh`, set REDIS_URL, or run the suite through `make test`.",
            pytrace=False,
        )
    return url

"""Where the test servers are, and a clear failure when they are not there."""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

import pytest

DEFAULT_RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672/"
DEFAULT_MONGODB_URL = "mongodb://127.0.0.1:27017/?directConnection=true"
MANAGEMENT_URL = os.environ.get("TRADEBUS_BUS_MANAGEMENT_URL", "http://guest:guest@127.0.0.1:15672")


def rabbitmq_url() -> str:
    return os.environ.get("RABBITMQ_URL", DEFAULT_RABBITMQ_URL)


def mongodb_url() -> str:
    return os.environ.get("MONGODB_URL", DEFAULT_MONGODB_URL)


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

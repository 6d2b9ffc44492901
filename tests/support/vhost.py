"""A RabbitMQ virtual host of a test's own: stacks and services in it share no queue with
`make run` or with another test run on the same broker. Made and dropped through the
management API."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import quote, urlsplit, urlunsplit

import httpx

from .infra import MANAGEMENT_URL, rabbitmq_url


def _management() -> httpx.AsyncClient:
    url = httpx.URL(MANAGEMENT_URL)
    return httpx.AsyncClient(
        base_url=str(url.copy_with(username=None, password=None)),
        auth=(url.username or "guest", url.password or "guest"),
        timeout=10,
    )


@asynccontextmanager
async def isolated_vhost(prefix: str = "test") -> AsyncIterator[str]:
    """Yields an AMQP URL pointing at a fresh vhost; deletes the vhost afterwards."""
    name = f"{prefix}-{uuid.uuid4().hex[:10]}"
    base = urlsplit(rabbitmq_url())
    user = base.username or "guest"
    async with _management() as api:
        (await api.put(f"/api/vhosts/{quote(name, safe='')}")).raise_for_status()
        (
            await api.put(
                f"/api/permissions/{quote(name, safe='')}/{quote(user, safe='')}",
                json={"configure": ".*", "write": ".*", "read": ".*"},
            )
        ).raise_for_status()
        try:
            yield urlunsplit(base._replace(path="/" + quote(name, safe="")))
        finally:
            await api.delete(f"/api/vhosts/{quote(name, safe='')}")

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.support.infra import require_mongodb, require_rabbitmq
from tests.support.vhost import isolated_vhost
from tradebus_storage import MongoSettings, create_client


@pytest.fixture
async def mongo(unique: str) -> AsyncIterator[tuple[Any, Any]]:
    """A client and a database of this test's own, dropped afterwards."""
    url = require_mongodb()
    client = create_client(MongoSettings(url=url))
    db = client[f"test_{unique}"]
    yield client, db
    await client.drop_database(db.name)
    await client.close()


@pytest.fixture
async def vhost(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    """An AMQP URL to a RabbitMQ vhost of this test's own, deleted afterwards."""
    require_rabbitmq()
    prefix = "it-" + request.node.path.parent.name  # e.g. it-dealbrain
    async with isolated_vhost(prefix) as url:
        yield url

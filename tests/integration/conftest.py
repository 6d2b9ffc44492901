from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.support.infra import require_mongodb
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

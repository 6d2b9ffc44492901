import uuid

import pytest


@pytest.fixture
def unique() -> str:
    """A short unique suffix so tests never share queues, databases or tenants."""
    return uuid.uuid4().hex[:10]

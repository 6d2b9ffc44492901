from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.support.fault_server import FaultServer, running_fault_server
from tradebus_resilience import Downstream, DownstreamSettings


@pytest.fixture
async def fault_server() -> AsyncIterator[FaultServer]:
    async with running_fault_server() as server:
        yield server


@pytest.fixture
def make_downstream(unique: str):
    """A Downstream with a test-sized budget and a name of its own (metrics are global)."""

    def make(kind: str, **overrides: Any) -> Downstream:
        values: dict[str, Any] = {
            "concurrency": 4,
            "read_timeout_seconds": 5.0,
            "total_timeout_seconds": 10.0,
            "max_attempts": 3,
            "backoff_base_seconds": 0.01,
            "backoff_cap_seconds": 0.05,
            "breaker_failure_threshold": 5,
            "breaker_reset_seconds": 0.5,
        }
        return Downstream(f"{kind}-{unique}", DownstreamSettings.model_validate(values | overrides))

    return make

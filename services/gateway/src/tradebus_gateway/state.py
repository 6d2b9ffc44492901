"""Resources the gateway holds for its lifetime, created in the lifespan."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tradebus_messaging import Bus
from tradebus_storage import BlobStore, TaskRepository

from .admission import QueueAdmission
from .auth import ApiKeyRepository
from .limits import TenantRateLimiter
from .online import OnlineEndpoint
from .settings import GatewaySettings


@dataclass
class GatewayState:
    settings: GatewaySettings
    bus: Bus
    mongo_client: Any
    db: Any
    tasks: TaskRepository
    blobs: BlobStore
    keys: ApiKeyRepository
    rate_limiter: TenantRateLimiter
    admission: QueueAdmission
    online: dict[str, OnlineEndpoint]  # ask, hunt, assess: deadline and in-flight budget

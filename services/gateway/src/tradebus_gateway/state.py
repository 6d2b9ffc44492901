"""Resources the gateway holds for its lifetime, created in the lifespan."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tradebus_messaging import Bus
from tradebus_storage import BlobStore, TaskRepository

from .admission import QueueAdmission
from .auth import ApiKeyRepository
from .limits import TenantRateLimiter
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

"""Resources the gateway holds for its lifetime, created in the lifespan."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tradebus_messaging import Bus
from tradebus_resilience import SharedLimits
from tradebus_storage import BlobStore, TaskRepository

from .admission import BacklogAdmission
from .auth import ApiKeyRepository
from .key_directory import KeyDirectory
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
    directory: KeyDirectory  # resolves request keys in memory
    limits: SharedLimits  # per-tenant rate and in-flight budgets, across replicas
    admission: BacklogAdmission
    online: dict[str, OnlineEndpoint]  # ask, hunt, assess: deadline and in-flight budget

"""What every command receives: the settings (after --url/--key) and how to reach the API."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import httpx
import typer

from .client import ApiClient
from .local import LocalAdmin, Opener, run_local
from .settings import CliSettings

T = TypeVar("T")


@dataclass
class Session:
    settings: CliSettings
    # Tests hand in an httpx.MockTransport; None is the real network.
    transport: httpx.BaseTransport | None = None
    # Tests hand in a fake; None is the gateway's registered implementation.
    local_admin: Opener | None = None

    def client(self) -> ApiClient:
        return ApiClient(self.settings, transport=self.transport)

    def local(self, requested: bool) -> bool:
        """Write to the database directly: asked for, or no key given and MONGODB_URL set."""
        return requested or (not self.settings.api_key and self.settings.mongodb_url is not None)

    def run_local(self, fn: Callable[[LocalAdmin], Awaitable[T]]) -> T:
        return run_local(fn, self.local_admin)


def session(ctx: typer.Context) -> Session:
    obj = ctx.find_root().obj
    if not isinstance(obj, Session):
        obj = ctx.find_root().obj = Session(CliSettings())
    return obj

"""A fake gateway (an httpx.MockTransport answering by method and path) and a fake local
admin, for driving `tradebus` in-process with typer's CliRunner."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
from typer.testing import CliRunner, Result

from tradebus_cli import CliSettings, Session, app

Answer = httpx.Response | Callable[[httpx.Request], httpx.Response]


class FakeGateway:
    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], list[Answer]] = {}
        self.requests: list[httpx.Request] = []

    def on(self, method: str, path: str, *answers: Answer) -> None:
        """Answer in turn; the last answer repeats."""
        self.routes[(method, path)] = list(answers)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answers = self.routes.get((request.method, request.url.path))
        if not answers:
            return httpx.Response(404, json={"code": "not_found", "message": "no such route"})
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        return answer(request) if callable(answer) else answer

    def seen(self) -> list[tuple[str, str]]:
        return [(r.method, r.url.path) for r in self.requests]

    def body(self, index: int) -> Any:
        return json.loads(self.requests[index].content)


def ok(status: int = 200, /, **body: Any) -> httpx.Response:
    return httpx.Response(status, json=body)


def error(status: int, code: str, message: str) -> httpx.Response:
    return httpx.Response(status, json={"code": code, "message": message})


class FakeLocalAdmin:
    def __init__(self) -> None:
        self.tenants: dict[str, str] = {}
        self.keys: list[tuple[str | None, str]] = []

    async def create_tenant(self, tenant_id: str, name: str | None) -> dict[str, Any] | None:
        if tenant_id in self.tenants:
            return None
        self.tenants[tenant_id] = name or tenant_id
        return {"id": tenant_id, "name": self.tenants[tenant_id], "keys": []}

    async def create_key(self, tenant_id: str | None, label: str) -> dict[str, Any]:
        if tenant_id is not None and tenant_id not in self.tenants:
            raise LookupError(f"tenant {tenant_id!r} does not exist")
        self.keys.append((tenant_id, label))
        return {"key_id": f"k{len(self.keys):011d}", "api_key": "tb_local", "label": label}

    async def revoke_key(self, key_id: str) -> dict[str, Any] | None:
        return None

    async def list_tenants(self) -> list[dict[str, Any]]:
        return [{"id": t, "name": n, "keys": []} for t, n in self.tenants.items()]

    def opener(self) -> Callable[[], Any]:
        @asynccontextmanager
        async def open_admin() -> AsyncIterator[FakeLocalAdmin]:
            yield self

        return open_admin


def invoke(
    gateway: FakeGateway | None,
    *args: str,
    key: str | None = "tb_operator",
    mongodb_url: str | None = None,
    local_admin: FakeLocalAdmin | None = None,
    input: str | None = None,
) -> Result:
    settings = CliSettings(url="http://gw", api_key=key, mongodb_url=mongodb_url)
    transport = httpx.MockTransport(gateway.handle) if gateway else None
    session = Session(
        settings, transport=transport, local_admin=local_admin.opener() if local_admin else None
    )
    return CliRunner().invoke(app, list(args), obj=session, input=input)

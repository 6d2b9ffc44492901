"""The real gateway with its internal hop over HTTP instead of RabbitMQ
(`python -m bench.online.gateway_http`): the same app, auth, limits, models and
`online.call`, but `bus.request` is replaced by an httpx call to `bench.online.echo_http`.
Comparing it with the unchanged gateway isolates what the RPC transport costs against
direct HTTP between the same two processes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI
from pydantic_settings import BaseSettings, SettingsConfigDict

from tradebus_contracts import REGISTRY, Contract
from tradebus_gateway.app import create_app
from tradebus_gateway.settings import GatewaySettings


class BenchSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TRADEBUS_BENCH_", extra="ignore")

    echo_url: str


class HttpTransport:
    """`Bus.request`'s signature over a kept-alive httpx pool."""

    def __init__(self, base_url: str) -> None:
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
        self._client = httpx.AsyncClient(base_url=base_url, limits=limits)

    async def request(
        self,
        payload: Contract,
        *,
        timeout: float,
        tenant_id: str | None = None,
        correlation_id: str | None = None,
        traceparent: str | None = None,
    ) -> Contract:
        headers = {"content-type": "application/json"}
        if correlation_id:
            headers["x-correlation-id"] = correlation_id
        if traceparent:
            headers["traceparent"] = traceparent
        response = await self._client.post(
            f"/rpc/{payload.message_type}",
            content=payload.model_dump_json(),
            headers=headers,
            timeout=timeout,
        )
        response.raise_for_status()
        model = REGISTRY.model_for(response.headers["x-message-type"])
        return model.model_validate_json(response.content)

    async def aclose(self) -> None:
        await self._client.aclose()


def create_http_gateway(settings: GatewaySettings, echo_url: str) -> FastAPI:
    app = create_app(settings)
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(the_app: FastAPI) -> AsyncIterator[Any]:
        async with inner(the_app):
            transport = HttpTransport(echo_url)
            the_app.state.gateway.bus.request = transport.request
            try:
                yield
            finally:
                await transport.aclose()

    app.router.lifespan_context = lifespan
    return app


if __name__ == "__main__":
    settings = GatewaySettings()
    uvicorn.run(
        create_http_gateway(settings, BenchSettings().echo_url),  # type: ignore[call-arg]
        host=settings.host,
        port=settings.port,
        log_level="warning",
        access_log=False,
    )

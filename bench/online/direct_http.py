"""The same trivial handler behind a direct HTTP route (`python -m bench.online.direct_http`):
a FastAPI app with the gateway's public request and response models on the same path,
served by uvicorn as the gateway is. No API-key lookup and no broker: this is the
floor the gateway → RabbitMQ → server path is compared against."""

from __future__ import annotations

import uvicorn
from fastapi import FastAPI

from tradebus_contracts import AskRequest
from tradebus_gateway.api.online_models import AskIn, AskOut
from tradebus_messaging.runner import WorkerSettings

from .echo import answer


def create_app() -> FastAPI:
    app = FastAPI(title="bench direct http")

    @app.post("/v1/dealbrain/ask", response_model=AskOut)
    async def ask(body: AskIn) -> AskOut:
        reply = answer(AskRequest(tenant_id="bench", **body.model_dump()))
        return AskOut.model_validate(reply.model_dump())

    @app.get("/readyz")
    async def readyz() -> dict[str, bool]:
        return {"ready": True}

    return app


if __name__ == "__main__":
    settings = WorkerSettings()
    uvicorn.run(
        create_app(),
        host="127.0.0.1",
        port=settings.http_port,
        log_level="warning",
        access_log=False,
    )

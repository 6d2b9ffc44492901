"""The trivial echo handler as an HTTP service (`python -m bench.online.echo_http`): what
dealbrain would be if the gateway called it over HTTP instead of RabbitMQ. The request is
the contract's JSON (`POST /rpc/<message type>`), decoded and validated as the RPC server
does, and the reply is the reply contract's JSON."""

from __future__ import annotations

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tradebus_contracts import AskRequest
from tradebus_messaging.runner import WorkerSettings

from .echo import answer


async def ask(request: Request) -> Response:
    reply = answer(AskRequest.model_validate_json(await request.body()))
    return Response(
        reply.model_dump_json(),
        media_type="application/json",
        headers={"x-message-type": reply.message_type},
    )


async def readyz(request: Request) -> Response:
    return JSONResponse({"ready": True})


def create_app() -> Starlette:
    return Starlette(
        routes=[
            Route(f"/rpc/{AskRequest.message_type}", ask, methods=["POST"]),
            Route("/readyz", readyz),
        ]
    )


if __name__ == "__main__":
    settings = WorkerSettings()
    uvicorn.run(
        create_app(),
        host="127.0.0.1",
        port=settings.http_port,
        log_level="warning",
        access_log=False,
    )

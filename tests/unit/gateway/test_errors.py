"""Every non-2xx answer is the error body: a bug is a logged 500 `internal` quoting a
request id, an unreachable database a 503, an undecodable body a 422, a wrong method a
405 naming every method."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from pydantic import BaseModel
from pymongo.errors import ServerSelectionTimeoutError

from tradebus_gateway import errors
from tradebus_gateway.api import tasks


class Body(BaseModel):
    text: str


def app() -> FastAPI:
    application = FastAPI()
    errors.install(application)
    application.include_router(tasks.router)

    @application.get("/boom")
    async def boom() -> None:
        raise RuntimeError("a bug")

    @application.get("/db-down")
    async def db_down() -> None:
        raise ServerSelectionTimeoutError("no servers")

    @application.post("/echo")
    async def echo(body: Body) -> Body:
        return body

    return application


def client() -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app(), raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://gateway")


async def test_an_unhandled_exception_is_a_500_with_the_error_body_and_a_request_id() -> None:
    async with client() as api:
        response = await api.get("/boom", headers={"X-Correlation-Id": "req-42"})
    assert response.status_code == 500
    assert response.json() == {"code": "internal", "message": "internal error; request id req-42"}
    assert response.headers["X-Correlation-Id"] == "req-42"


async def test_a_body_that_is_not_utf8_is_a_422_not_a_400() -> None:
    async with client() as api:
        response = await api.post(
            "/echo", content=b"\xff\xfe{", headers={"Content-Type": "application/json"}
        )
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_request"


async def test_a_wrong_method_names_every_method_the_path_serves() -> None:
    async with client() as api:
        response = await api.patch("/v1/tasks/abc")
    assert response.status_code == 405
    assert response.headers["Allow"] == "DELETE, GET"
    assert response.json()["code"] == "method_not_allowed"


async def test_an_unreachable_database_is_a_503_with_retry_after_not_a_500() -> None:
    async with client() as api:
        response = await api.get("/db-down")
    assert response.status_code == 503
    assert response.json()["code"] == "unavailable"
    assert response.headers["Retry-After"] == "5"

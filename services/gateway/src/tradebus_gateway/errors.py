"""One error body for every non-2xx answer, so clients parse a single shape."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException


class ErrorBody(BaseModel):
    code: str = Field(..., description="Stable machine-readable code.", examples=["not_found"])
    message: str = Field(..., description="What went wrong, for a person.")
    details: list[dict[str, Any]] | None = Field(
        None, description="Field-level problems (validation errors)."
    )


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers


_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before retrying.",
        "schema": {"type": "integer"},
    }
}


def _describe(
    description: str, code: str, message: str, *, retry_after: bool = False
) -> dict[str, Any]:
    described: dict[str, Any] = {
        "model": ErrorBody,
        "description": description,
        "content": {"application/json": {"example": {"code": code, "message": message}}},
    }
    if retry_after:
        described["headers"] = _RETRY_AFTER
    return described


# OpenAPI documentation of each error status, reused by the routers.
ERRORS: dict[int, dict[str, Any]] = {
    401: _describe("Missing or invalid API key", "unauthorized", "invalid API key"),
    404: _describe("No such resource for this tenant", "not_found", "task not found"),
    409: _describe("The task has no result yet", "not_ready", "task is running"),
    413: _describe("Upload too large", "too_large", "upload exceeds 10485760 bytes"),
    415: _describe("Unsupported document type", "unsupported_type", "type image/png"),
    422: _describe("Invalid request", "invalid_request", "title: field required"),
    429: _describe(
        "Rate limit, admission control or a full in-flight budget; see Retry-After",
        "overloaded",
        "retry later",
        retry_after=True,
    ),
    502: _describe(
        "The service behind the endpoint failed", "upstream_error", "dealbrain failed (internal)"
    ),
    503: _describe(
        "Broker, database or the service behind the endpoint unavailable; see Retry-After",
        "unavailable",
        "broker unavailable",
        retry_after=True,
    ),
    504: _describe(
        "No answer within the deadline", "deadline_exceeded", "dealbrain did not answer within 15s"
    ),
}


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {s: ERRORS[s] for s in statuses}


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(
            ErrorBody(code=exc.code, message=exc.message).model_dump(exclude_none=True),
            status_code=exc.status,
            headers=exc.headers,
        )

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        first = details[0] if details else {"loc": [], "msg": "invalid request"}
        where = ".".join(str(p) for p in first["loc"] if p != "body") or "request"
        return JSONResponse(
            ErrorBody(
                code="invalid_request", message=f"{where}: {first['msg']}", details=details
            ).model_dump(exclude_none=True),
            status_code=422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(
            ErrorBody(code=code, message=str(exc.detail)).model_dump(exclude_none=True),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

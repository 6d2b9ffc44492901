"""One error body for every non-2xx answer, so clients parse a single shape."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from pymongo.errors import ConnectionFailure
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from . import tracing

log = structlog.get_logger(__name__)


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


def describe(
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
    401: describe("Missing or invalid API key", "unauthorized", "invalid API key"),
    403: describe(
        "An operator key on a tenant route (operator keys belong to no tenant)",
        "operator_key",
        "an operator key cannot call tenant routes; use a tenant's key",
    ),
    404: describe("No such resource for this tenant", "not_found", "task not found"),
    409: describe("The task has no result yet", "not_ready", "task is running"),
    413: describe("Upload too large", "too_large", "upload exceeds 10485760 bytes"),
    415: describe("Unsupported document type", "unsupported_type", "type image/png"),
    422: describe("Invalid request", "invalid_request", "title: field required"),
    429: describe(
        "Rate limit, admission control or a full in-flight budget; see Retry-After",
        "overloaded",
        "retry later",
        retry_after=True,
    ),
    502: describe(
        "The service behind the endpoint failed", "upstream_error", "dealbrain failed (internal)"
    ),
    503: describe(
        "Broker, database or the service behind the endpoint unavailable; see Retry-After",
        "unavailable",
        "broker unavailable",
        retry_after=True,
    ),
    504: describe(
        "No answer within the deadline", "deadline_exceeded", "dealbrain did not answer within 15s"
    ),
}


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {s: ERRORS[s] for s in statuses}


def error_response(exc: ApiError) -> JSONResponse:
    return JSONResponse(
        ErrorBody(code=exc.code, message=exc.message).model_dump(exclude_none=True),
        status_code=exc.status,
        headers=exc.headers,
    )


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc)

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

    @app.exception_handler(ConnectionFailure)
    async def database_unavailable(request: Request, exc: ConnectionFailure) -> JSONResponse:
        # MongoDB unreachable (restarting, failing over): the client may retry, as for
        # the broker; not a bug.
        log.warning("database unavailable", path=request.url.path, error=str(exc)[:300])
        state = getattr(request.app.state, "gateway", None)
        retry_after = state.settings.unavailable_retry_after_seconds if state else 5
        return JSONResponse(
            ErrorBody(code="unavailable", message="database unavailable").model_dump(
                exclude_none=True
            ),
            status_code=503,
            headers={"Retry-After": str(retry_after)},
        )

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> JSONResponse:
        # A bug, never the client's input: the same body, and an id to find the log by.
        request_id = tracing.correlation_id(request.headers.get("x-correlation-id"))
        log.exception(
            "unhandled error",
            request_id=request_id,
            method=request.method,
            path=request.url.path,
            error_type=type(exc).__name__,
        )
        return JSONResponse(
            ErrorBody(
                code="internal", message=f"internal error; request id {request_id}"
            ).model_dump(exclude_none=True),
            status_code=500,
            headers={"X-Correlation-Id": request_id},
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        status, headers = exc.status_code, dict(getattr(exc, "headers", None) or {})
        if status == 400:
            # A body that cannot even be decoded (bytes that are not UTF-8) is invalid
            # input like any other: the documented 422.
            status = 422
        if status == 405:
            # Starlette names only the first route matching the path; a path served by
            # several routes (GET and DELETE of a task) allows all of theirs.
            headers["Allow"] = ", ".join(_allowed(request))
        code = {
            404: "not_found",
            405: "method_not_allowed",
            413: "too_large",  # a route's body limit
            422: "invalid_request",
        }
        return JSONResponse(
            ErrorBody(code=code.get(status, "http_error"), message=str(exc.detail)).model_dump(
                exclude_none=True
            ),
            status_code=status,
            headers=headers or None,
        )


_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def _allowed(request: Request) -> list[str]:
    """The methods some route serves at this path (asked of the routes, which may be
    nested routers, with the request's scope under each method in turn)."""
    routes = request.app.router.routes
    allowed = []
    for method in _METHODS:
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] is Match.FULL for route in routes):
            allowed.append(method)
    return allowed

"""Request dependencies: the gateway state, the caller's tenant, the tenant's rate limit,
and what a client asks of an online call (a shorter deadline, its trace)."""

from __future__ import annotations

import math
import time
from typing import Annotated

from fastapi import Depends, Header, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from . import tracing
from .auth import Principal
from .errors import ApiError
from .online import CallContext
from .state import GatewayState

bearer = HTTPBearer(auto_error=False, description="API key: `Authorization: Bearer <key>`")


async def get_state(request: Request) -> GatewayState:
    # async: FastAPI runs a plain `def` dependency in a worker thread, a thread hop per
    # request for an attribute read.
    state: GatewayState = request.app.state.gateway
    return state


async def authenticated(
    state: Annotated[GatewayState, Depends(get_state)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    unauthorized = ApiError(
        401, "unauthorized", "missing or invalid API key", headers={"WWW-Authenticate": "Bearer"}
    )
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise unauthorized
    principal = await state.keys.resolve(credentials.credentials)
    if principal is None:
        raise unauthorized
    wait = state.rate_limiter.check(principal.tenant_id, time.monotonic())
    if wait > 0:
        raise ApiError(
            429,
            "rate_limited",
            f"tenant request rate above {state.settings.tenant_rate_per_second:g}/s",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )
    return principal


Tenant = Annotated[Principal, Depends(authenticated)]
State = Annotated[GatewayState, Depends(get_state)]


async def call_context(
    response: Response,
    request_timeout: Annotated[
        float | None,
        Header(
            alias="X-Request-Timeout",
            gt=0,
            description="Seconds you will wait for the answer. Shortens the endpoint's "
            "deadline, never lengthens it.",
            examples=[5],
        ),
    ] = None,
    correlation_id: Annotated[
        str | None,
        Header(
            alias="X-Correlation-Id",
            description="Carried to the services that answer; a new one is made when absent "
            "or malformed. Echoed in the answer.",
        ),
    ] = None,
    traceparent: Annotated[
        str | None,
        Header(description="W3C trace context; the call joins this trace."),
    ] = None,
) -> CallContext:
    context = CallContext(
        timeout=request_timeout,
        correlation_id=tracing.correlation_id(correlation_id),
        traceparent=tracing.child_traceparent(traceparent),
    )
    # Echoed so a client can quote it; error answers carry it too (see online.call).
    response.headers["X-Correlation-Id"] = context.correlation_id
    return context


Call = Annotated[CallContext, Depends(call_context)]

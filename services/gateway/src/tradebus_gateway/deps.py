"""Request dependencies: the gateway state, the caller's tenant, the tenant's rate limit,
and what a client asks of an online call (a shorter deadline, its trace)."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import Depends, Header, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from tradebus_resilience import rate_item

from . import tracing
from .auth import Principal
from .errors import ApiError
from .online import CallContext
from .state import GatewayState

# A plain decimal: digits, an optional fraction, an optional exponent (no sign, no
# nan or inf). Every such text is accepted: 0 and tiny values are raised to the floor.
TIMEOUT_PATTERN = r"^[0-9]{1,16}(\.[0-9]{1,16})?([eE][-+]?[0-9]{1,4})?$"

bearer = HTTPBearer(auto_error=False, description="API key: `Authorization: Bearer <key>`")


async def get_state(request: Request) -> GatewayState:
    # async: FastAPI runs a plain `def` dependency in a worker thread, a thread hop per
    # request for an attribute read.
    state: GatewayState = request.app.state.gateway
    return state


async def resolved(
    state: Annotated[GatewayState, Depends(get_state)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """The key's principal, whatever its role; 401 for a missing or unknown key."""
    unauthorized = ApiError(
        401, "unauthorized", "missing or invalid API key", headers={"WWW-Authenticate": "Bearer"}
    )
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise unauthorized
    principal = await state.directory.resolve(credentials.credentials)
    if principal is None:
        raise unauthorized
    return principal


async def authenticated(
    state: Annotated[GatewayState, Depends(get_state)],
    principal: Annotated[Principal, Depends(resolved)],
) -> Principal:
    """A tenant's key: an operator key belongs to no tenant, so tenant routes refuse it."""
    if principal.operator:
        raise ApiError(
            403, "operator_key", "an operator key cannot call tenant routes; use a tenant's key"
        )
    await _within_rate(state, principal.tenant_id)
    return principal


async def operator(
    state: Annotated[GatewayState, Depends(get_state)],
    principal: Annotated[Principal, Depends(resolved)],
) -> Principal:
    """An operator's key: tenant keys are refused on operator routes."""
    if not principal.operator:
        raise ApiError(403, "forbidden", "this route needs an operator key")
    await _within_rate(state, f"operator:{principal.key_id}")
    return principal


async def _within_rate(state: GatewayState, subject: str) -> None:
    settings = state.settings
    item = rate_item(settings.tenant_rate_per_second, settings.tenant_burst)
    wait = await state.limits.rate(subject, item)
    if wait > 0:
        raise ApiError(
            429,
            "rate_limited",
            f"tenant request rate above {state.settings.tenant_rate_per_second:g}/s",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )


Tenant = Annotated[Principal, Depends(authenticated)]
Operator = Annotated[Principal, Depends(operator)]
State = Annotated[GatewayState, Depends(get_state)]


async def call_context(
    response: Response,
    state: State,
    request_timeout: Annotated[
        str | None,
        # A string with a pattern, not a number: a header is text, and this way the
        # document says exactly which texts are accepted (no sign, nan, inf or `1_0`).
        Header(
            alias="X-Request-Timeout",
            pattern=TIMEOUT_PATTERN,
            max_length=32,
            description="Seconds you will wait for the answer, a decimal number. "
            "Shortens the endpoint's deadline, never lengthens it; a value below the "
            "gateway's floor (`MIN_REQUEST_TIMEOUT_SECONDS`, 1s) is raised to it.",
            examples=["5"],
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
    timeout = None
    if request_timeout is not None:
        # Clamped, not refused: a deadline shorter than a broker round trip (0, 5e-324)
        # would only manufacture 504s; 1e999 reads as inf, which the endpoint's
        # deadline caps.
        timeout = max(float(request_timeout), state.settings.min_request_timeout_seconds)
    context = CallContext(
        timeout=timeout,
        correlation_id=tracing.correlation_id(correlation_id),
        traceparent=tracing.incoming_traceparent(traceparent),
    )
    # Echoed so a client can quote it; error answers carry it too (see online.call).
    response.headers["X-Correlation-Id"] = context.correlation_id
    return context


Call = Annotated[CallContext, Depends(call_context)]

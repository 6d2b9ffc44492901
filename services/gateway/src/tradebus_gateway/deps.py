"""Request dependencies: the gateway state, the caller's tenant, the tenant's rate limit,
and for the online routes, all in one, the tenant and what the client asks of the call
(a shorter deadline, its trace)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from . import tracing
from .auth import Principal
from .errors import ApiError
from .online import CallContext
from .settings import GatewaySettings
from .state import GatewayState
from .tenant_rate import rate_limited, tenant_rate

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
    return await _principal(state, credentials)


async def authenticated(
    state: Annotated[GatewayState, Depends(get_state)],
    principal: Annotated[Principal, Depends(resolved)],
) -> Principal:
    """A tenant's key: an operator key belongs to no tenant, so tenant routes refuse it."""
    _tenant_only(principal)
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


async def _principal(
    state: GatewayState, credentials: HTTPAuthorizationCredentials | None
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise _unauthorized()
    key = credentials.credentials
    # A known key of a fresh snapshot resolves without an await (the common case).
    principal = state.directory.cached(key) or await state.directory.resolve(key)
    if principal is None:
        raise _unauthorized()
    return principal


def _unauthorized() -> ApiError:
    return ApiError(
        401, "unauthorized", "missing or invalid API key", headers={"WWW-Authenticate": "Bearer"}
    )


def _tenant_only(principal: Principal) -> None:
    if principal.operator:
        raise ApiError(
            403, "operator_key", "an operator key cannot call tenant routes; use a tenant's key"
        )


async def _within_rate(state: GatewayState, subject: str) -> None:
    wait = await state.limits.rate(subject, tenant_rate(state.settings))
    if wait > 0:
        raise rate_limited(state.settings, wait)


Tenant = Annotated[Principal, Depends(authenticated)]
Operator = Annotated[Principal, Depends(operator)]
State = Annotated[GatewayState, Depends(get_state)]


@dataclass(frozen=True, slots=True)
class OnlineCaller:
    """Who calls an online route and what they ask of the call."""

    state: GatewayState
    tenant_id: str
    context: CallContext


async def online_caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
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
) -> OnlineCaller:
    """The online routes' one dependency (each level of them costs every request): the
    key's tenant, and the call's deadline and trace. The tenant's rate is not taken here
    but with the call's in-flight slot, in one Redis round trip (`online.call`)."""
    state: GatewayState = request.app.state.gateway
    principal = await _principal(state, credentials)
    _tenant_only(principal)
    context = call_context(state.settings, request_timeout, correlation_id, traceparent)
    return OnlineCaller(state, principal.tenant_id, context)


def call_context(
    settings: GatewaySettings,
    request_timeout: str | None,
    correlation_id: str | None,
    traceparent: str | None,
) -> CallContext:
    """What an online call's headers ask of it (`request_timeout` already matched
    `TIMEOUT_PATTERN`)."""
    timeout = None
    if request_timeout is not None:
        # Clamped, not refused: a deadline shorter than a broker round trip (0, 5e-324)
        # would only manufacture 504s; 1e999 reads as inf, which the endpoint's
        # deadline caps.
        timeout = max(float(request_timeout), settings.min_request_timeout_seconds)
    return CallContext(
        timeout=timeout,
        correlation_id=tracing.correlation_id(correlation_id),
        traceparent=tracing.incoming_traceparent(traceparent),
    )


Caller = Annotated[OnlineCaller, Depends(online_caller)]

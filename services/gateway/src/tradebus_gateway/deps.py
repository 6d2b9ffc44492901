"""Request dependencies: the gateway state, the caller's tenant, the tenant's rate limit."""

from __future__ import annotations

import math
import time
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from .auth import Principal
from .errors import ApiError
from .state import GatewayState

bearer = HTTPBearer(auto_error=False, description="API key: `Authorization: Bearer <key>`")


def get_state(request: Request) -> GatewayState:
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

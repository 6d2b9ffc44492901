"""The cheap front door of ingest submissions: a full backlog is refused (`429` +
Retry-After) as soon as the key is known, from memory, before the tenant's request rate
costs a Redis round trip and before the body is read. A route takes it as its first
dependency (`dependencies=[ADMITTED]`); the principal it resolves is reused by the
route's own `Tenant` (FastAPI caches a dependency within a request)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from .auth import Principal
from .deps import State, resolved


async def admitted(state: State, principal: Annotated[Principal, Depends(resolved)]) -> None:
    if not principal.operator:  # an operator key is refused by the route's `Tenant`
        state.admission.admit(principal.tenant_id)


ADMITTED = Depends(admitted)

"""The online routes' one way to answer: the call on the tenant's behalf, and the reply's
public fields as JSON, encoded once. Both ways a request reaches an online route (its
FastAPI route, and the fast path in front of FastAPI, `online_fast_path`) go through
`OnlineRoute.answer`, so they cannot answer differently.

The public models (`AskOut`, ...) have the reply contracts' fields (a unit test keeps them
equal), and the reply was validated when it was decoded; validating it again into the
public model and once more as the route's response model only cost every request. The
public model still names the fields, so a field a later contract version adds stays
private until the public model has it too."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Generic, TypeVar

from fastapi import Response
from pydantic import BaseModel

from tradebus_contracts import Contract

from .. import online
from ..online import CallContext
from ..state import GatewayState

B = TypeVar("B", bound=BaseModel)


@functools.cache
def _fields(public: type[BaseModel]) -> frozenset[str]:
    return frozenset(public.model_fields)


def public_json(reply: Contract, public: type[BaseModel]) -> bytes:
    return reply.model_dump_json(include=set(_fields(public))).encode()


@dataclass(frozen=True, slots=True)
class OnlineRoute(Generic[B]):
    """One online route: the body it takes, the request it makes of it for a tenant, the
    endpoint (budget, deadline) that answers, and the reply's public shape."""

    endpoint: str  # ask | hunt | assess
    body: type[B]
    request: type[Contract]  # the body's fields and the tenant's id
    reply: type[Contract]
    public: type[BaseModel]

    async def answer(
        self, state: GatewayState, tenant_id: str, context: CallContext, body: B
    ) -> Response:
        reply = await online.call(
            state.bus,
            state.online[self.endpoint],
            self.request(tenant_id=tenant_id, **body.model_dump()),
            self.reply,
            tenant_id=tenant_id,
            context=context,
            settings=state.settings,
        )
        # The correlation id is echoed so a client can quote it (error answers carry it too).
        return Response(
            public_json(reply, self.public),
            media_type="application/json",
            headers={"X-Correlation-Id": context.correlation_id},
        )

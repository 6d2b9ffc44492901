"""The RPC endpoints: contract in, the request's deadline out of the message, the flow's
reply back. The messaging runtime turns an exception into an error reply."""

from __future__ import annotations

from tradebus_contracts import AssessReply, AssessRequest, HuntReply, HuntRequest
from tradebus_messaging import MessageContext, PermanentError

from .assessing import Assessor
from .fanout import Deadline
from .hunting import Hunter


class _Endpoint:
    def __init__(self, *, default_deadline_seconds: float, reserve_seconds: float) -> None:
        self._default = default_deadline_seconds
        self._reserve = reserve_seconds

    def deadline(self, ctx: MessageContext) -> Deadline:
        return Deadline.of(
            ctx.deadline, default_seconds=self._default, reserve_seconds=self._reserve
        )


def _same_tenant(payload_tenant: str, ctx: MessageContext) -> None:
    # The envelope's tenant is the one the gateway authenticated; a body naming another
    # must never reach that tenant's documents.
    if ctx.tenant_id is not None and ctx.tenant_id != payload_tenant:
        raise PermanentError("the request's tenant differs from its envelope's", code="forbidden")


class HuntHandler(_Endpoint):
    def __init__(self, hunter: Hunter, **deadlines: float) -> None:
        super().__init__(**deadlines)
        self._hunter = hunter

    async def __call__(self, msg: HuntRequest, ctx: MessageContext) -> HuntReply:
        """`shadowhunter.hunt.v1`: leads for a query, partial rather than late."""
        _same_tenant(msg.tenant_id, ctx)
        return await self._hunter.hunt(msg, self.deadline(ctx))


class AssessHandler(_Endpoint):
    def __init__(self, assessor: Assessor, **deadlines: float) -> None:
        super().__init__(**deadlines)
        self._assessor = assessor

    async def __call__(self, msg: AssessRequest, ctx: MessageContext) -> AssessReply:
        """`shadowhunter.assess.v1`: a scored, explained assessment of a counterparty."""
        _same_tenant(msg.tenant_id, ctx)
        return await self._assessor.assess(msg, self.deadline(ctx))

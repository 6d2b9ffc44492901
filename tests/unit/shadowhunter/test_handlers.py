"""The RPC endpoints: the deadline comes from the message, the tenant from the envelope."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.unit.shadowhunter.fakes import FakeSearch, result
from tradebus_contracts import Envelope, HuntRequest
from tradebus_messaging import MessageContext, PermanentError
from tradebus_shadowhunter.domain.leads import LeadPolicy
from tradebus_shadowhunter.fanout import Deadline, FanOutGate
from tradebus_shadowhunter.handlers import HuntHandler
from tradebus_shadowhunter.hunting import Hunter


async def _no_publish(*args: object, **kwargs: object) -> Envelope:
    raise AssertionError("an RPC endpoint publishes nothing")


def context(tenant: str | None, deadline: datetime | None) -> MessageContext:
    envelope = Envelope(type=HuntRequest.message_type, source="test", tenant_id=tenant)
    return MessageContext(envelope, "shadowhunter.hunt", 1, False, deadline, None, _no_publish)


def handler(provider: FakeSearch) -> HuntHandler:
    hunter = Hunter(
        providers=[provider],
        gate=FanOutGate(2),
        policy=LeadPolicy(weights={"relevance": 1.0}),
        result_limit=5,
    )
    return HuntHandler(hunter, default_deadline_seconds=10.0, reserve_seconds=0.5)


async def test_the_call_gets_the_messages_deadline_minus_the_reserve() -> None:
    web = FakeSearch("web1", [result("x", "Acme Coil", "https://acme.example", "coil")])
    due = datetime.now(UTC) + timedelta(seconds=3)
    reply = await handler(web)(HuntRequest(tenant_id="t1", query="coil"), context("t1", due))
    assert [lead.name for lead in reply.leads] == ["Acme Coil"]
    (timeout,) = web.timeouts
    assert timeout is not None and 2.0 < timeout <= 2.5


async def test_a_body_naming_another_tenant_is_refused() -> None:
    web = FakeSearch("web1")
    with pytest.raises(PermanentError, match="tenant"):
        await handler(web)(HuntRequest(tenant_id="t2", query="coil"), context("t1", None))
    assert web.queries == []


def test_a_deadline_in_the_past_leaves_no_time() -> None:
    past = datetime.now(UTC) - timedelta(seconds=1)
    assert Deadline.of(past, default_seconds=10, reserve_seconds=0).remaining() < 0
    assert (
        Deadline.of(None, default_seconds=10, reserve_seconds=1, clock=lambda: 0.0).remaining() == 9
    )

"""Online calls without a broker: the in-flight budget, the deadline a client may only
shorten, the failure → HTTP mapping, trace context, and public bodies that stay as strict
as the contracts they become."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from pydantic import BaseModel

from tradebus_contracts import (
    AskReply,
    AskRequest,
    AssessReply,
    AssessRequest,
    Citation,
    Contract,
    HuntReply,
    HuntRequest,
)
from tradebus_gateway import tracing
from tradebus_gateway.api.online_answer import public_json
from tradebus_gateway.api.online_models import (
    AskIn,
    AskOut,
    AssessIn,
    AssessOut,
    HuntIn,
    HuntOut,
    SessionMessageIn,
)
from tradebus_gateway.errors import ApiError
from tradebus_gateway.limits import InFlightBudget
from tradebus_gateway.online import CallContext, OnlineEndpoint, call, http_error
from tradebus_gateway.settings import GatewaySettings
from tradebus_messaging import BrokerUnavailable, DeadlineExceeded, RemoteError
from tradebus_resilience import SharedLimits

SETTINGS = GatewaySettings(unavailable_retry_after_seconds=7, busy_retry_after_seconds=2)


class FakeBus:
    """Records requests; answers with `reply`, or raises it, or waits until released."""

    def __init__(self, reply: Contract | Exception | None = None) -> None:
        self.reply = reply
        self.requests: list[tuple[Contract, dict[str, Any]]] = []
        self.release = asyncio.Event()

    async def request(self, payload: Contract, **kwargs: Any) -> Contract:
        self.requests.append((payload, kwargs))
        if self.reply is None:
            await self.release.wait()
            return AskReply(answer="late")
        if isinstance(self.reply, Exception):
            raise self.reply
        return self.reply


def endpoint(limit: int = 2, deadline: float = 15.0, tenant_limit: int = 10) -> OnlineEndpoint:
    budget = InFlightBudget(limit)
    return OnlineEndpoint("ask", "dealbrain", deadline, budget, tenant_limit, SharedLimits(None))


def context(timeout: float | None = None) -> CallContext:
    return CallContext(timeout=timeout, correlation_id="corr-1", traceparent="00-" + "a" * 32)


ASK = AskRequest(tenant_id="acme", question="Who pays duty?")


async def ask(bus: FakeBus, ep: OnlineEndpoint, timeout: float | None = None) -> AskReply:
    return await call(
        bus,  # type: ignore[arg-type]
        ep,
        ASK,
        AskReply,
        tenant_id="acme",
        context=context(timeout),
        settings=SETTINGS,
    )


def test_the_budget_refuses_when_full_and_frees_on_release() -> None:
    budget = InFlightBudget(2)
    assert budget.try_acquire() and budget.try_acquire()
    assert not budget.try_acquire()
    budget.release()
    assert budget.try_acquire()
    assert budget.in_flight == 2


async def test_a_full_budget_answers_429_without_sending_anything() -> None:
    bus, ep = FakeBus(), endpoint(limit=1)
    first = asyncio.create_task(ask(bus, ep))
    await asyncio.sleep(0)
    with pytest.raises(ApiError) as refused:
        await ask(bus, ep)
    assert refused.value.status == 429 and refused.value.code == "overloaded"
    assert refused.value.headers == {"Retry-After": "2", "X-Correlation-Id": "corr-1"}
    assert len(bus.requests) == 1  # only the first call went out
    bus.release.set()
    await first
    assert ep.budget.in_flight == 0


async def test_one_tenant_cannot_take_every_slot() -> None:
    bus, ep = FakeBus(), endpoint(limit=10, tenant_limit=1)
    first = asyncio.create_task(ask(bus, ep))
    await asyncio.sleep(0.01)
    with pytest.raises(ApiError) as refused:
        await ask(bus, ep)  # the same tenant: its own budget is full
    assert refused.value.status == 429 and refused.value.code == "tenant_overloaded"
    other = asyncio.create_task(
        call(
            bus,  # type: ignore[arg-type]
            ep,
            ASK,
            AskReply,
            tenant_id="globex",
            context=context(),
            settings=SETTINGS,
        )
    )
    await asyncio.sleep(0.01)
    assert len(bus.requests) == 2  # acme's first call and globex's went out
    bus.release.set()
    await asyncio.gather(first, other)
    assert ep.budget.in_flight == 0
    await ask(bus, ep)  # acme's slot was given back


async def test_a_client_may_shorten_the_deadline_but_never_lengthen_it() -> None:
    bus, ep = FakeBus(AskReply(answer="ok")), endpoint(deadline=15.0)
    await ask(bus, ep, timeout=2.5)
    await ask(bus, ep, timeout=600)
    await ask(bus, ep)
    assert [kwargs["timeout"] for _, kwargs in bus.requests] == [2.5, 15.0, 15.0]
    kwargs = bus.requests[0][1]
    assert (kwargs["tenant_id"], kwargs["correlation_id"]) == ("acme", "corr-1")
    assert kwargs["traceparent"] == context().traceparent


async def test_a_failed_call_frees_its_slot_and_carries_the_correlation_id() -> None:
    bus, ep = FakeBus(DeadlineExceeded("no reply")), endpoint(limit=1)
    with pytest.raises(ApiError) as info:
        await ask(bus, ep)
    assert info.value.status == 504 and info.value.code == "deadline_exceeded"
    assert info.value.headers == {"X-Correlation-Id": "corr-1"}
    assert ep.budget.in_flight == 0


async def test_a_reply_of_the_wrong_type_is_a_bad_gateway() -> None:
    bus = FakeBus(HuntReply())
    with pytest.raises(ApiError) as info:
        await ask(bus, endpoint())
    assert info.value.status == 502 and "HuntReply" in info.value.message


@pytest.mark.parametrize(
    ("exc", "status", "code", "retry_after"),
    [
        (DeadlineExceeded("no reply"), 504, "deadline_exceeded", None),
        (TimeoutError(), 504, "deadline_exceeded", None),
        (BrokerUnavailable("no server is listening for x"), 503, "unavailable", "7"),
        (RemoteError("invalid_request", "question: too long"), 422, "invalid_request", None),
        (RemoteError("internal", "KeyError: 'x'", retryable=True), 503, "unavailable", "7"),
        (RemoteError("permanent", "tenant has no index"), 502, "upstream_error", None),
    ],
)
def test_failures_map_to_http_answers(
    exc: Exception, status: int, code: str, retry_after: str | None
) -> None:
    outcome, error = http_error(exc, endpoint(), timeout=2.0, retry_after=7)
    assert (error.status, error.code) == (status, code), outcome
    assert (error.headers or {}).get("Retry-After") == retry_after


def test_only_invalid_requests_show_the_remote_text() -> None:
    _, invalid = http_error(
        RemoteError("invalid_request", "question: too long"), endpoint(), timeout=1, retry_after=1
    )
    assert invalid.message == "question: too long"
    _, internal = http_error(
        RemoteError("internal", "KeyError: secret_column"), endpoint(), timeout=1, retry_after=1
    )
    assert "secret_column" not in internal.message and "internal" in internal.message
    _, late = http_error(DeadlineExceeded("x"), endpoint(), timeout=2.5, retry_after=1)
    assert late.message == "dealbrain did not answer within 2.5s"


def test_a_valid_client_traceparent_is_passed_on_as_the_propagator_reads_it() -> None:
    incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    assert tracing.incoming_traceparent(incoming) == incoming
    assert tracing.incoming_traceparent(f" {incoming} ") == incoming  # blanks trimmed


@pytest.mark.parametrize(
    "incoming",
    [
        None,
        "",
        "garbage",
        "00-" + "0" * 32 + "-" + "1" * 16 + "-01",  # the all-zero trace id is invalid
        "00-" + "a" * 32 + "-" + "0" * 16 + "-01",  # and so is the all-zero span id
        "ff-" + "a" * 32 + "-" + "1" * 16 + "-01",  # version ff is forbidden
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01",  # hex is lowercase
    ],
)
def test_a_missing_or_malformed_traceparent_is_ignored(incoming: str | None) -> None:
    assert tracing.incoming_traceparent(incoming) is None


def test_correlation_ids_are_kept_when_usable() -> None:
    assert tracing.correlation_id("order-42:retry.1") == "order-42:retry.1"
    assert tracing.correlation_id("has spaces") != "has spaces"
    assert len(tracing.correlation_id(None)) == 32


def _constraints(model: type[BaseModel], field: str) -> dict[str, Any]:
    schema = dict(model.model_json_schema()["properties"][field])
    for key in ("title", "description", "examples", "default"):
        schema.pop(key, None)
    return schema


@pytest.mark.parametrize(
    ("public", "contract", "fields"),
    [
        (AskIn, AskRequest, {"question": "question", "top_k": "top_k", "filters": "filters"}),
        (SessionMessageIn, AskRequest, {"content": "question", "top_k": "top_k"}),
        (HuntIn, HuntRequest, {f: f for f in ("query", "country", "industry", "limit")}),
        (AssessIn, AssessRequest, {f: f for f in ("counterparty", "country", "website")}),
    ],
)
def test_public_bodies_are_as_strict_as_their_contracts(
    public: type[BaseModel], contract: type[BaseModel], fields: dict[str, str]
) -> None:
    # A body the gateway accepts must become a valid RPC request, not a 500.
    for mine, theirs in fields.items():
        assert _constraints(public, mine) == _constraints(contract, theirs), mine
    assert "tenant_id" not in public.model_fields


async def test_the_tenants_rate_is_taken_with_the_call_and_refuses_with_retry_after() -> None:
    settings = GatewaySettings(tenant_rate_per_second=0.001, tenant_burst=1)  # 1 per 1,000 s
    bus, ep = FakeBus(AskReply(answer="ok")), endpoint()

    async def one() -> AskReply:
        return await call(
            bus,  # type: ignore[arg-type]
            ep,
            ASK,
            AskReply,
            tenant_id="rate-acme",
            context=context(),
            settings=settings,
        )

    await one()
    with pytest.raises(ApiError) as refused:
        await one()
    assert (refused.value.status, refused.value.code) == (429, "rate_limited")
    headers = refused.value.headers or {}
    assert int(headers["Retry-After"]) >= 1 and headers["X-Correlation-Id"] == "corr-1"
    assert len(bus.requests) == 1  # the refused call sent nothing
    assert ep.budget.in_flight == 0


@pytest.mark.parametrize(
    ("reply", "public"),
    [
        (
            AskReply(
                answer="DAP: the buyer pays",
                citations=[
                    Citation(
                        document_id="d1", chunk_id="c1", title="Incoterms", snippet="…", score=0.5
                    )
                ],
                degraded=["llm:extractive"],
                latency_ms={"retrieve": 1.5},
                session_id="s1",
                retrieved=4,
            ),
            AskOut,
        ),
        (HuntReply(partial=True, providers={"a": "timeout"}), HuntOut),
    ],
)
def test_an_answer_is_the_public_models_json_encoded_once(
    reply: Contract, public: type[BaseModel]
) -> None:
    # What validating the reply into the public model and serialising that gave.
    before = public.model_validate(reply.model_dump()).model_dump(mode="json")
    assert json.loads(public_json(reply, public)) == before


@pytest.mark.parametrize(
    ("reply", "public"), [(AskReply, AskOut), (HuntReply, HuntOut), (AssessReply, AssessOut)]
)
def test_public_replies_have_their_contracts_fields(
    reply: type[Contract], public: type[BaseModel]
) -> None:
    # A field only the public model has would be missing from the answer.
    assert set(public.model_fields) <= set(reply.model_fields)

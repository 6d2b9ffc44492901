"""Lead hunting (`POST /v1/shadowhunter/hunt`) and counterparty assessment
(`POST /v1/nexus/assess`), both answered by shadowhunter over RPC within their deadlines."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Response

from tradebus_contracts import AssessReply, AssessRequest, HuntReply, HuntRequest

from ..deps import Caller
from .examples import (
    ASSESS_EXAMPLES,
    ASSESS_REPLY_EXAMPLE,
    HUNT_EXAMPLES,
    HUNT_REPLY_EXAMPLE,
    online_responses,
)
from .online_answer import OnlineRoute
from .online_models import AssessIn, AssessOut, HuntIn, HuntOut

HUNT = OnlineRoute("hunt", HuntIn, HuntRequest, HuntReply, HuntOut)
ASSESS = OnlineRoute("assess", AssessIn, AssessRequest, AssessReply, AssessOut)

hunt_router = APIRouter(prefix="/v1/shadowhunter", tags=["shadowhunter"])
nexus_router = APIRouter(prefix="/v1/nexus", tags=["nexus"])


@hunt_router.post(
    "/hunt",
    response_model=HuntOut,
    summary="Find and score leads across the search providers",
    responses=online_responses(
        "Leads, best first, and each provider's outcome", HUNT_REPLY_EXAMPLE
    ),
)
async def hunt(
    body: Annotated[HuntIn, Body(openapi_examples=HUNT_EXAMPLES)],
    caller: Caller,
) -> Response:
    """Fan out to the search providers, dedupe and score. `partial` says a provider
    failed or timed out and the leads come from the others."""
    return await HUNT.answer(caller.state, caller.tenant_id, caller.context, body)


@nexus_router.post(
    "/assess",
    response_model=AssessOut,
    summary="Assess a counterparty with a transparent scoring rubric",
    responses=online_responses("The score, its factors and the evidence", ASSESS_REPLY_EXAMPLE),
)
async def assess(
    body: Annotated[AssessIn, Body(openapi_examples=ASSESS_EXAMPLES)],
    caller: Caller,
) -> Response:
    """Gather evidence from search and the tenant's knowledge base and score it factor
    by factor; the score is the sum of the factors' contributions."""
    return await ASSESS.answer(caller.state, caller.tenant_id, caller.context, body)

"""Deal Q&A: `POST /v1/dealbrain/ask` and the turns of a conversation, answered by
dealbrain over RPC (`dealbrain.ask.v1`) within the ask deadline."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Response

from tradebus_contracts import AskReply, AskRequest

from ..deps import Caller
from .examples import ASK_EXAMPLES, ASK_REPLY_EXAMPLE, MESSAGE_EXAMPLES, online_responses
from .online_answer import OnlineRoute
from .online_models import SESSION_ID_PATTERN, AskIn, AskOut, SessionMessageIn

router = APIRouter(prefix="/v1/dealbrain", tags=["dealbrain"])

_RESPONSES = online_responses("The answer, its citations and what was degraded", ASK_REPLY_EXAMPLE)

ASK = OnlineRoute("ask", AskIn, AskRequest, AskReply, AskOut)

SessionId = Annotated[
    str, Path(pattern=SESSION_ID_PATTERN, description="The conversation, named by the client.")
]


@router.post(
    "/ask",
    response_model=AskOut,
    summary="Ask a question over the tenant's knowledge base",
    responses=_RESPONSES,
)
async def ask(
    body: Annotated[AskIn, Body(openapi_examples=ASK_EXAMPLES)],
    caller: Caller,
) -> Response:
    """Retrieve, rerank and answer with citations. With `session_id` the question is a
    turn of that conversation."""
    return await ASK.answer(caller.state, caller.tenant_id, caller.context, body)


@router.post(
    "/sessions/{session_id}/messages",
    response_model=AskOut,
    summary="Send the next message of a conversation",
    responses=_RESPONSES,
)
async def post_message(
    session_id: SessionId,
    body: Annotated[SessionMessageIn, Body(openapi_examples=MESSAGE_EXAMPLES)],
    caller: Caller,
) -> Response:
    """Answer the message in the context of the conversation's earlier turns."""
    # The same question as an ask with the session's id; every field is validated already.
    question = AskIn.model_construct(
        question=body.content, top_k=body.top_k, filters=body.filters, session_id=session_id
    )
    return await ASK.answer(caller.state, caller.tenant_id, caller.context, question)

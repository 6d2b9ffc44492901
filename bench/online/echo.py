"""The trivial work both sides of the RPC-vs-HTTP comparison do: answer a question with
itself. Nothing else runs in the handler, so what differs is the path to it."""

from __future__ import annotations

from tradebus_contracts import AskReply, AskRequest


def answer(request: AskRequest) -> AskReply:
    return AskReply(answer=request.question, session_id=request.session_id)

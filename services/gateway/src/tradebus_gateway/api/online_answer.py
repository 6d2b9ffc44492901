"""The answer of an online route: the reply's public fields as JSON, encoded once.

The public models (`AskOut`, ...) have the reply contracts' fields (a unit test keeps them
equal), and the reply was validated when it was decoded; validating it again into the
public model and once more as the route's response model only cost every request. The
public model still names the fields, so a field a later contract version adds stays
private until the public model has it too."""

from __future__ import annotations

import functools

from fastapi import Response
from pydantic import BaseModel

from tradebus_contracts import Contract

from ..online import CallContext


@functools.cache
def _fields(public: type[BaseModel]) -> frozenset[str]:
    return frozenset(public.model_fields)


def public_json(reply: Contract, public: type[BaseModel]) -> bytes:
    return reply.model_dump_json(include=set(_fields(public))).encode()


def answer(reply: Contract, public: type[BaseModel], context: CallContext) -> Response:
    # The correlation id is echoed so a client can quote it (error answers carry it too).
    return Response(
        public_json(reply, public),
        media_type="application/json",
        headers={"X-Correlation-Id": context.correlation_id},
    )

"""The message contract downstream teams code against: the AsyncAPI document, the JSON
Schemas it refers to (same relative layout as contracts/, so `$ref`s resolve against
this server), and a readable page. Served like /openapi.json and /docs: public (a
contract holds no tenant data) and outside the REST API's own OpenAPI document."""

from __future__ import annotations

from functools import cache
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, JSONResponse

from tradebus_contracts import REGISTRY
from tradebus_contracts.generate import asyncapi, schema_for

from ..contract_page import render_page
from ..errors import ApiError

router = APIRouter(tags=["contract"])


@cache
def _document() -> dict[str, Any]:
    return asyncapi()


@cache
def _schemas() -> dict[str, dict[str, Any]]:
    return {model.message_type: schema_for(model) for model in REGISTRY}


@cache
def _page() -> str:
    return render_page(_document(), _schemas())


@router.get("/asyncapi.json", include_in_schema=False)
async def asyncapi_document() -> JSONResponse:
    """The AsyncAPI 3.0 document of every message."""
    return JSONResponse(_document())


@router.get("/schemas/{message_type}.json", include_in_schema=False)
async def message_schema(message_type: str) -> JSONResponse:
    """The JSON Schema of one message type's payload."""
    schema = _schemas().get(message_type)
    if schema is None:
        raise ApiError(404, "unknown_message_type", f"no message type {message_type!r}")
    return JSONResponse(schema, media_type="application/schema+json")


@router.get("/asyncapi", include_in_schema=False)
async def asyncapi_page() -> HTMLResponse:
    """The messages as a readable page."""
    return HTMLResponse(_page())

"""The OpenAPI document as the API behaves, so a client (or schemathesis) generating
requests from it gets no surprise: optional parameters are absent, never `null`."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from .errors import ERRORS


def install(app: FastAPI) -> None:
    def build() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                openapi_version=app.openapi_version,
                description=app.description,
                routes=app.routes,
                tags=app.openapi_tags,
                servers=app.servers,
            )
            for operation in _operations(document):
                _refuses_operator_keys(operation)
                for parameter in operation.get("parameters", []):
                    if "schema" in parameter:
                        parameter["schema"] = _without_null(parameter["schema"])
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = build  # type: ignore[method-assign]


def _operations(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        operation
        for item in document.get("paths", {}).values()
        for operation in item.values()
        if isinstance(operation, dict) and "responses" in operation
    ]


def _refuses_operator_keys(operation: dict[str, Any]) -> None:
    """Every route that takes a key and does not name its own 403 is a tenant route, and
    an operator key there is `403 operator_key` (see deps.authenticated)."""
    responses = operation["responses"]
    if "401" in responses and "403" not in responses:
        described = dict(ERRORS[403])
        model = described.pop("model")
        ref = {"$ref": f"#/components/schemas/{model.__name__}"}
        described["content"] = {
            "application/json": {**described["content"]["application/json"], "schema": ref}
        }
        responses["403"] = described


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """`anyOf: [X, null]` (FastAPI's `X | None`) becomes X: a header or query value of
    `null` is the text "null", which the gateway rightly refuses."""
    options = schema.get("anyOf")
    if not isinstance(options, list):
        return schema
    kept = [o for o in options if o != {"type": "null"}]
    if len(kept) != 1:
        return schema
    rest = {k: v for k, v in schema.items() if k != "anyOf"}
    return {**kept[0], **rest}

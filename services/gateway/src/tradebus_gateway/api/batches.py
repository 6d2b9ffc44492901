"""`POST /v1/rag/batches`: many documents as one parent task with a child task each.

The batch is admitted as a whole or refused (`429`) as a whole, before anything is
stored; each child is an ordinary ingest task (its own events, webhooks and place in the
admission backlog). The parent (`GET /v1/tasks/{id}`, kind `rag.batch`) is `running`
while any child is, then `succeeded` when every child succeeded, `failed` when any
failed, else `cancelled`; `batch` counts the children by status and the result holds
{total, succeeded, failed, cancelled}. `GET /v1/tasks?parent={id}` lists the children,
`POST /v1/tasks/{id}/cancel` cancels every unfinished one. `priority` (JSON body or
form field; JSON documents may give their own) is each child's, as for one document:
recorded on its task and its lane of the fair ingest queue."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request, Response

from tradebus_storage import BATCH_KIND

from ..admission_gate import ADMITTED
from ..batch_submission import BatchItem, batch_documents, submit_batch
from ..deps import State, Tenant
from ..errors import ApiError, describe, responses
from ..settings import GatewaySettings
from ..state import GatewayState
from .batch_intake import (
    BatchDocument,
    discard_all,
    parse_form,
    parse_json,
    store_form,
    store_json,
)
from .batch_models import BatchAccepted, BatchDocumentOut, form_body_schema, json_body_schema
from .documents import CONTENT_TYPES


def _openapi_body(settings: GatewaySettings) -> dict[str, object]:
    limit = settings.max_batch_documents
    return {
        # What JSON Schema cannot say (bytes across parts), for clients that plan batches.
        "x-limits": {
            "max_batch_documents": limit,
            "max_batch_bytes": settings.max_batch_bytes,
            "max_upload_bytes": settings.max_upload_bytes,
        },
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": json_body_schema(limit),
                    "example": {
                        "documents": [
                            {"title": "FOB terms", "text": "FOB: the seller delivers..."},
                            {"title": "CIF", "url": "https://example.com/cif.html"},
                        ]
                    },
                },
                "multipart/form-data": {
                    "schema": form_body_schema(limit),
                    "encoding": {
                        "file": {"contentType": ", ".join(CONTENT_TYPES.values())},
                        "documents": {"contentType": "application/json"},
                    },
                },
            },
        },
    }


def router_for(settings: GatewaySettings) -> APIRouter:
    """The route's OpenAPI states this deployment's batch limit."""
    router = APIRouter(prefix="/v1/rag", tags=["rag"])
    router.add_api_route(
        "/batches",
        submit,
        methods=["POST"],
        status_code=202,
        dependencies=[ADMITTED],  # a full backlog refused before the rate limit or the body
        response_model=BatchAccepted,
        summary="Submit many documents as one batch task; returns the batch's task id at once",
        description=__doc__,
        openapi_extra=_openapi_body(settings),
        responses={
            202: {
                "description": "Accepted: poll the batch at the Location header",
                "headers": {
                    "Location": {"description": "/v1/tasks/{id}", "schema": {"type": "string"}}
                },
            },
            **responses(401, 413, 415, 422, 429, 503),
            409: describe(
                "The Idempotency-Key was used for another kind of request",
                "idempotency_conflict",
                "the Idempotency-Key names a task that is not a batch",
            ),
        },
    )
    return router


async def submit(
    request: Request,
    response: Response,
    state: State,
    tenant: Tenant,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            max_length=200,
            description="Same key, same batch: safe client retries.",
        ),
    ] = None,
) -> BatchAccepted:
    tenant_id = tenant.tenant_id
    documents = await _read(request, state, tenant_id)
    try:
        if not state.bus.connected:
            retry_after = str(state.settings.unavailable_retry_after_seconds)
            raise ApiError(
                503,
                "unavailable",
                "message broker unavailable",
                headers={"Retry-After": retry_after},
            )
        parent, created = await submit_batch(
            tasks=state.tasks,
            bus=state.bus,
            tenant_id=tenant_id,
            documents=[
                BatchItem(d.title, d.source, d.metadata, d.priority.value) for d in documents
            ],
            idempotency_key=idempotency_key,
        )
    except BaseException:  # refused before anything refers to the blobs
        await discard_all(state, documents)
        raise
    if created:
        state.admission.published(len(documents), tenant_id=tenant_id)
    else:
        await discard_all(state, documents)  # the first submission's blobs are the ones
        if parent.kind != BATCH_KIND:
            raise ApiError(
                409,
                "idempotency_conflict",
                "the Idempotency-Key names a task that is not a batch",
            )
    response.headers["Location"] = f"/v1/tasks/{parent.id}"
    return BatchAccepted(
        task_id=parent.id,
        status=parent.status,
        created=created,
        documents=[BatchDocumentOut.model_validate(d) for d in batch_documents(parent)],
    )


async def _read(request: Request, state: GatewayState, tenant_id: str) -> list[BatchDocument]:
    """The documents, admitted as a whole and stored; 4xx for anything wrong."""
    content_type = request.headers.get("content-type", "")
    media = content_type.split(";")[0].strip().lower()
    if media == "multipart/form-data":
        form = await parse_form(request, state)
        try:
            state.admission.admit(tenant_id, max(1, len(form.getlist("file"))))
            return await store_form(form, state, tenant_id)
        finally:
            await form.close()
    if media in ("application/json", ""):
        batch = await parse_json(request, state)
        state.admission.admit(tenant_id, len(batch.documents))
        return await store_json(batch, state, tenant_id)
    raise ApiError(
        415,
        "unsupported_type",
        f"send application/json or multipart/form-data, not {content_type[:100]!r}",
    )

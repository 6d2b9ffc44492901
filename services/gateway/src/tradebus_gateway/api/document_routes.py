"""Documents as the tenant's resources: list, read, delete, reindex. Every query is scoped
by the caller's tenant: another tenant's document (or a deleted one) is simply not found,
so nobody learns whether an id exists elsewhere. Submission is `documents.py`."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Response
from pydantic import StringConstraints

from tradebus_messaging import PublishError
from tradebus_storage import DocumentCatalog, DocumentFilter, InvalidDocumentCursor

from .. import document_flows as flows
from ..deps import State, Tenant
from ..errors import ApiError, describe, responses
from ..state import GatewayState
from ..submission import INGEST_KIND
from .document_models import METADATA_FILTER_PATTERN, DocumentOut, DocumentPage, DocumentStatus
from .models import METADATA_VALUE_PATTERN, IsoDateTime, TaskAccepted

router = APIRouter(prefix="/v1/rag/documents", tags=["rag"])

DocumentId = Annotated[str, Path(min_length=1, max_length=64, description="The document id.")]


def _catalog(state: GatewayState) -> DocumentCatalog:
    return DocumentCatalog(state.db)


def _not_found(document_id: str) -> ApiError:
    return ApiError(404, "not_found", f"document {document_id} not found")


def _unavailable(state: GatewayState, what: str) -> ApiError:
    return ApiError(
        503,
        "unavailable",
        what,
        headers={"Retry-After": str(state.settings.unavailable_retry_after_seconds)},
    )


@router.get(
    "",
    response_model=DocumentPage,
    summary="List the tenant's documents, newest first",
    responses=responses(401, 422, 429, 503),
)
async def list_documents(
    state: State,
    tenant: Tenant,
    status: DocumentStatus | None = None,
    title: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=200,
            pattern=METADATA_VALUE_PATTERN,
            description="Case-insensitive substring.",
        ),
    ] = None,
    metadata: Annotated[
        list[Annotated[str, StringConstraints(pattern=METADATA_FILTER_PATTERN)]] | None,
        Query(
            max_length=32,
            description="`key=value`, repeatable: every pair must match exactly.",
            examples=[["region=EU"]],
        ),
    ] = None,
    created_after: Annotated[
        IsoDateTime | None, Query(description="Created at or after (ISO 8601).")
    ] = None,
    created_before: Annotated[
        IsoDateTime | None, Query(description="Created before (ISO 8601).")
    ] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> DocumentPage:
    pairs: dict[str, str] = {}
    for item in metadata or []:
        if not _matches(item):
            raise ApiError(422, "invalid_request", f"metadata: {item[:80]!r} is not key=value")
        key, value = item.split("=", 1)
        pairs[key] = value
    filters = DocumentFilter(
        status=status.value if status else None,
        title=title,
        metadata=pairs,
        created_after=created_after,
        created_before=created_before,
    )
    try:
        items, next_cursor = await _catalog(state).page(
            tenant.tenant_id, filters, cursor=cursor, limit=limit
        )
    except InvalidDocumentCursor as exc:
        raise ApiError(422, "invalid_cursor", "not a cursor this API gave") from exc
    return DocumentPage(items=[DocumentOut.of(d) for d in items], next_cursor=next_cursor)


def _matches(item: str) -> bool:
    return re.fullmatch(METADATA_FILTER_PATTERN, item) is not None


@router.get(
    "/{document_id}",
    response_model=DocumentOut,
    summary="A document: status, chunk count, source, metadata, the task that made it",
    description="Readable from the 202 of its submission: `queued` until its ingestion "
    "starts (`reindex_task_id` is its task), then `ingesting`, `indexed` or `failed`. "
    "The list shows documents whose ingestion has started.",
    responses=responses(401, 404, 422, 429, 503),
)
async def get_document(document_id: DocumentId, state: State, tenant: Tenant) -> DocumentOut:
    catalog = _catalog(state)
    record = await catalog.get(tenant.tenant_id, document_id)
    if record is not None:
        return DocumentOut.of(record)
    # Submitted and not yet written by its ingestion (`queued`), unless deleted since.
    if not await catalog.is_deleted(tenant.tenant_id, document_id):
        task = await state.tasks.latest_for_document(tenant.tenant_id, INGEST_KIND, document_id)
        if task is not None:
            return DocumentOut.unstarted(task)
    raise _not_found(document_id)


@router.delete(
    "/{document_id}",
    status_code=204,
    response_class=Response,
    summary="Delete a document: no answer cites it once its deletion has propagated",
    description="Returns once the document is marked deleted (every reader filters it) and "
    "`omnirag.document.deleted.v1` is published; every dealbrain and shadowhunter replica "
    "drops it on that event. A task still ingesting it is cancelled. Its chunks, vectors "
    "and stored upload are removed off the request path. Retrying a delete is safe.",
    responses={204: {"description": "Deleted"}, **responses(401, 404, 422, 429, 503)},
)
async def delete_document(document_id: DocumentId, state: State, tenant: Tenant) -> Response:
    if not state.bus.connected:
        raise _unavailable(state, "message broker unavailable")
    try:
        await flows.delete_document(
            catalog=_catalog(state),
            tasks=state.tasks,
            bus=state.bus,
            tenant_id=tenant.tenant_id,
            document_id=document_id,
        )
    except flows.NotFound as exc:
        raise _not_found(document_id) from exc
    except PublishError as exc:
        raise _unavailable(state, "deletion recorded but not announced; retry the delete") from exc
    return Response(status_code=204)


@router.post(
    "/{document_id}/reindex",
    status_code=202,
    response_model=TaskAccepted,
    summary="Re-ingest a document from its stored source; returns a new task at once",
    description="The document stays searchable in its current version until the new one is "
    "complete, then switches atomically. Unchanged content ends the task at once "
    "(`result.unchanged`).",
    responses={
        202: {
            "description": "Accepted: poll the task at the Location header",
            "headers": {
                "Location": {"description": "/v1/tasks/{id}", "schema": {"type": "string"}}
            },
        },
        **responses(401, 404, 422, 429, 503),
        409: describe(
            "A task is still ingesting the document, or it has no stored source",
            "busy",
            "task 0193... is still ingesting this document",
        ),
    },
)
async def reindex_document(
    document_id: DocumentId,
    response: Response,
    state: State,
    tenant: Tenant,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            max_length=200,
            description="Same key, same task: safe client retries.",
        ),
    ] = None,
) -> TaskAccepted:
    state.admission.admit(tenant.tenant_id)
    if not state.bus.connected:
        raise _unavailable(state, "message broker unavailable")
    try:
        task, created = await flows.reindex_document(
            catalog=_catalog(state),
            tasks=state.tasks,
            bus=state.bus,
            tenant_id=tenant.tenant_id,
            document_id=document_id,
            idempotency_key=idempotency_key,
        )
    except flows.NotFound as exc:
        raise _not_found(document_id) from exc
    except flows.Busy as exc:
        raise ApiError(409, "busy", str(exc)) from exc
    except flows.NoSource as exc:
        raise ApiError(409, "no_source", "the document's source was not recorded") from exc
    if created:
        state.admission.published(tenant_id=tenant.tenant_id)
    response.headers["Location"] = f"/v1/tasks/{task.id}"
    return TaskAccepted(
        task_id=task.id, status=task.status, document_id=document_id, created=created
    )

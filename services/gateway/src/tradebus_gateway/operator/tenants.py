"""Tenants and API keys: list, create a tenant, create a key (shown once), revoke.
A revoked key stops working at once on this replica, on the others within the key
directory's reload bound (`api_key_cache_seconds`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from ..auth import new_api_key
from ..deps import Operator, State
from ..errors import ApiError, describe
from .access import Act, audited, operator_responses
from .audit import KEY_ID_LENGTH
from .key_records import KeyRecords, key_item
from .paging import Cursor, Limit, after_of, next_cursor
from .tenant_models import (
    TENANT_ID_PATTERN,
    KeyIn,
    KeyOut,
    NewKey,
    OperatorKeyIn,
    TenantIn,
    TenantOut,
    TenantPage,
)
from .tenant_views import tenant_views

router = APIRouter()

TenantId = Annotated[str, Path(pattern=TENANT_ID_PATTERN, description="The tenant id.")]
KeyId = Annotated[
    str,
    Path(
        pattern=r"^[0-9a-f]{12}([0-9a-f]{52})?$",
        description="A key's 12-character id, or its whole digest.",
    ),
]
EXISTS = describe("The tenant exists already", "exists", "tenant acme exists")
AMBIGUOUS = describe("The key id matches several keys", "ambiguous", "give the whole digest")


@router.get(
    "/tenants",
    response_model=TenantPage,
    summary="Tenants with their keys, limits, a day's usage and recent errors",
    responses=operator_responses(422, 429, 503),
)
async def list_tenants(
    state: State, _: Operator, limit: Limit = 50, cursor: Cursor = None
) -> TenantPage:
    after = after_of(cursor)
    query = {} if after is None else {"_id": {"$gt": after}}
    docs = await state.db["tenants"].find(query).sort("_id", 1).limit(limit + 1).to_list()
    items = await tenant_views(state, docs[:limit])
    last = items[-1].id if len(docs) > limit else None
    return TenantPage(items=items, next_cursor=next_cursor(last))


@router.post(
    "/tenants",
    status_code=201,
    response_model=TenantOut,
    summary="Create a tenant (no key yet: create one next)",
    responses={**operator_responses(422, 429, 503), 409: EXISTS},
)
async def create_tenant(
    body: TenantIn, state: State, act: Annotated[Act, Depends(audited("tenant.create"))]
) -> TenantOut:
    async with act.attempt(body.id, name=body.name):
        if not await state.keys.create_tenant(body.id, body.name):
            raise ApiError(409, "exists", f"tenant {body.id} exists")
    doc = await state.db["tenants"].find_one({"_id": body.id})
    [view] = await tenant_views(state, [doc])
    return view


@router.post(
    "/tenants/{tenant_id}/keys",
    status_code=201,
    response_model=NewKey,
    summary="Create an API key for a tenant; the key is shown this once",
    responses=operator_responses(404, 422, 429, 503),
)
async def create_tenant_key(
    tenant_id: TenantId,
    state: State,
    act: Annotated[Act, Depends(audited("key.create"))],
    body: KeyIn | None = None,
) -> NewKey:
    label = body.label if body else ""
    api_key = new_api_key()
    async with act.attempt(tenant_id, label=label, role="tenant") as details:
        try:
            key_id = await state.keys.add_key(tenant_id, api_key, label=label)
        except LookupError:
            raise ApiError(404, "not_found", f"tenant {tenant_id} not found") from None
        details["key_id"] = key_id[:KEY_ID_LENGTH]
    return NewKey(key_id=key_id[:KEY_ID_LENGTH], api_key=api_key, label=label)


@router.post(
    "/keys",
    status_code=201,
    response_model=NewKey,
    summary="Create an operator key; the key is shown this once",
    responses=operator_responses(422, 429, 503),
)
async def create_operator_key(
    body: OperatorKeyIn, state: State, act: Annotated[Act, Depends(audited("key.create"))]
) -> NewKey:
    api_key = new_api_key()
    async with act.attempt("operator", label=body.label, role="operator") as details:
        key_id = await state.keys.add_operator_key(api_key, label=body.label)
        details["key_id"] = key_id[:KEY_ID_LENGTH]
    return NewKey(key_id=key_id[:KEY_ID_LENGTH], api_key=api_key, label=body.label)


@router.post(
    "/keys/{key_id}/revoke",
    response_model=KeyOut,
    summary="Revoke a key (tenant or operator); revoking a revoked key answers it again",
    responses={**operator_responses(404, 422, 429, 503), 409: AMBIGUOUS},
)
async def revoke_key(
    key_id: KeyId, state: State, act: Annotated[Act, Depends(audited("key.revoke"))]
) -> KeyOut:
    async with act.attempt(key_id[:KEY_ID_LENGTH]) as details:
        records = KeyRecords(state.db)
        found = await records.matching(key_id)
        if not found:
            raise ApiError(404, "not_found", f"no key {key_id}")
        if len(found) > 1:
            raise ApiError(409, "ambiguous", "several keys start so; give the whole digest")
        digest = str(found[0]["_id"])
        details["revoked_now"] = await state.keys.revoke(digest)
        details["tenant_id"] = found[0].get("tenant_id")
        state.directory.forget(digest)
        [doc] = await records.matching(digest)
    return KeyOut.model_validate(key_item(doc))

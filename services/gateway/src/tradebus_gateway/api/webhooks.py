"""Webhook subscriptions of the caller's tenant: create, list, read, update, delete,
rotate the signing secret, send a test event, list and replay deliveries. The notifier
delivers (Standard Webhooks signatures, CloudEvents bodies, retries on the delay network);
this router only keeps the subscriptions and asks for tests and replays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Body, Path, Query, Response

from tradebus_contracts import DeliverWebhook, WebhookTest
from tradebus_messaging import PublishError
from tradebus_storage import (
    DeliveryLog,
    WebhookRepository,
    WebhookSubscription,
    delivery_id,
)

from ..deps import State, Tenant
from ..errors import ApiError, describe, responses
from ..webhook_urls import WebhookUrlCheck
from .webhook_models import (
    DeliveryOut,
    DeliveryPage,
    TestAccepted,
    WebhookCreate,
    WebhookCreated,
    WebhookOut,
    WebhookPage,
    WebhookSecret,
    WebhookUpdate,
)

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])

WebhookId = Annotated[str, Path(min_length=1, max_length=64, description="The subscription id.")]
DeliveryId = Annotated[str, Path(min_length=1, max_length=64, description="The delivery id.")]
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: describe("No such webhook for this tenant", "not_found", "webhook not found")
}
DISABLED: dict[int | str, dict[str, Any]] = {
    409: describe("The subscription is disabled: enable it first", "disabled", "webhook disabled")
}
CREATE_EXAMPLE = {
    "url": "https://hooks.example.com/tradebus",
    "event_types": ["omnirag.document.indexed.v1", "task.#"],
    "description": "ERP sync",
}


def _subscriptions(state: State) -> WebhookRepository:
    return WebhookRepository(state.db)


def _deliveries(state: State) -> DeliveryLog:
    return DeliveryLog(state.db)


async def _get(state: State, tenant_id: str, webhook_id: str) -> WebhookSubscription:
    sub = await _subscriptions(state).get(tenant_id, webhook_id)
    if sub is None:
        raise ApiError(404, "not_found", f"webhook {webhook_id} not found")
    return sub


async def _check_url(state: State, url: str) -> None:
    check = WebhookUrlCheck(
        state.settings.webhook_allowed_networks,
        timeout_seconds=state.settings.webhook_resolve_timeout_seconds,
    )
    reason = await check.refusal(url)
    if reason is not None:
        raise ApiError(422, "url_refused", f"webhook URL refused: {reason}")


def _unavailable(state: State, what: str) -> ApiError:
    retry = str(state.settings.unavailable_retry_after_seconds)
    return ApiError(503, "unavailable", what, headers={"Retry-After": retry})


@router.post(
    "",
    status_code=201,
    response_model=WebhookCreated,
    summary="Subscribe a URL to event types; the signing secret is shown only in this answer",
    responses={
        201: {"description": "Created; keep `secret` to verify signatures"},
        **responses(401, 422, 429, 503),
        409: describe("The tenant has as many webhooks as allowed", "limit_reached", "100"),
    },
)
async def create_webhook(
    state: State,
    tenant: Tenant,
    body: Annotated[WebhookCreate, Body(openapi_examples={"indexed": {"value": CREATE_EXAMPLE}})],
) -> WebhookCreated:
    repo = _subscriptions(state)
    limit = state.settings.webhook_max_per_tenant
    if await repo.count(tenant.tenant_id) >= limit:
        raise ApiError(409, "limit_reached", f"at most {limit} webhooks per tenant")
    await _check_url(state, body.url)
    sub, secret = await repo.create(
        tenant.tenant_id,
        url=body.url,
        event_types=list(dict.fromkeys(body.event_types)),
        description=body.description,
    )
    log.info("webhook created", tenant_id=tenant.tenant_id, webhook_id=sub.id)
    return WebhookCreated(**WebhookOut.of(sub).model_dump(), secret=secret)


@router.get(
    "",
    response_model=WebhookPage,
    summary="List the tenant's webhooks, newest first",
    responses=responses(401, 422, 429, 503),
)
async def list_webhooks(
    state: State,
    tenant: Tenant,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> WebhookPage:
    items, next_cursor = await _subscriptions(state).page(
        tenant.tenant_id, cursor=cursor, limit=limit
    )
    return WebhookPage(items=[WebhookOut.of(s) for s in items], next_cursor=next_cursor)


@router.get(
    "/{webhook_id}",
    response_model=WebhookOut,
    summary="A webhook, with why it was disabled if it was",
    responses={**responses(401, 422, 429, 503), **NOT_FOUND},
)
async def get_webhook(webhook_id: WebhookId, state: State, tenant: Tenant) -> WebhookOut:
    return WebhookOut.of(await _get(state, tenant.tenant_id, webhook_id))


@router.patch(
    "/{webhook_id}",
    response_model=WebhookOut,
    summary="Change the URL, event types, description, or enable/disable",
    responses={**responses(401, 422, 429, 503), **NOT_FOUND},
)
async def update_webhook(
    webhook_id: WebhookId, state: State, tenant: Tenant, body: WebhookUpdate
) -> WebhookOut:
    fields: dict[str, Any] = {
        k: v for k, v in body.model_dump().items() if v is not None and k != "description"
    }
    if "event_types" in fields:
        fields["event_types"] = list(dict.fromkeys(fields["event_types"]))
    if "url" in fields:
        await _check_url(state, fields["url"])
    if "description" in body.model_fields_set:
        fields["description"] = body.description
    sub = await _subscriptions(state).update(tenant.tenant_id, webhook_id, **fields)
    if sub is None:
        raise ApiError(404, "not_found", f"webhook {webhook_id} not found")
    return WebhookOut.of(sub)


@router.delete(
    "/{webhook_id}",
    status_code=204,
    response_class=Response,
    summary="Delete a webhook; deliveries still queued for it are dropped",
    responses={204: {"description": "Deleted"}, **responses(401, 422, 429, 503), **NOT_FOUND},
)
async def delete_webhook(webhook_id: WebhookId, state: State, tenant: Tenant) -> Response:
    if not await _subscriptions(state).delete(tenant.tenant_id, webhook_id):
        raise ApiError(404, "not_found", f"webhook {webhook_id} not found")
    return Response(status_code=204)


@router.post(
    "/{webhook_id}/rotate-secret",
    response_model=WebhookSecret,
    summary="A new signing secret; the previous one keeps signing during the overlap window",
    responses={**responses(401, 422, 429, 503), **NOT_FOUND},
)
async def rotate_secret(webhook_id: WebhookId, state: State, tenant: Tenant) -> WebhookSecret:
    overlap = timedelta(seconds=state.settings.webhook_secret_overlap_seconds)
    rotated = await _subscriptions(state).rotate_secret(
        tenant.tenant_id, webhook_id, overlap=overlap
    )
    if rotated is None:
        raise ApiError(404, "not_found", f"webhook {webhook_id} not found")
    sub, secret = rotated
    previous = [s.expires_at for s in sub.secrets[1:] if s.expires_at is not None]
    log.info("webhook secret rotated", tenant_id=tenant.tenant_id, webhook_id=sub.id)
    return WebhookSecret(
        id=sub.id, secret=secret, previous_secret_expires_at=max(previous, default=None)
    )


@router.post(
    "/{webhook_id}/test",
    status_code=202,
    response_model=TestAccepted,
    summary="Send a `tradebus.webhook.test.v1` event through the normal delivery path",
    responses={
        202: {"description": "Accepted; watch the delivery"},
        **responses(401, 422, 429, 503),
        **NOT_FOUND,
        **DISABLED,
    },
)
async def send_test(webhook_id: WebhookId, state: State, tenant: Tenant) -> TestAccepted:
    sub = await _get(state, tenant.tenant_id, webhook_id)
    if not sub.enabled:
        raise ApiError(409, "disabled", f"webhook {webhook_id} is disabled")
    event = WebhookTest(subscription_id=sub.id, requested_at=datetime.now(UTC))
    try:
        envelope = await state.bus.publish(event, tenant_id=tenant.tenant_id, subject=sub.id)
    except PublishError as exc:
        raise _unavailable(state, "broker unavailable") from exc
    return TestAccepted(event_id=envelope.id, delivery_id=delivery_id(envelope.id, sub.id))


@router.get(
    "/{webhook_id}/deliveries",
    response_model=DeliveryPage,
    summary="The webhook's deliveries, newest first",
    responses={**responses(401, 422, 429, 503), **NOT_FOUND},
)
async def list_deliveries(
    webhook_id: WebhookId,
    state: State,
    tenant: Tenant,
    cursor: Annotated[str | None, Query(max_length=80)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> DeliveryPage:
    await _get(state, tenant.tenant_id, webhook_id)
    items, next_cursor = await _deliveries(state).page(
        tenant.tenant_id, webhook_id, cursor=cursor, limit=limit
    )
    return DeliveryPage(items=[DeliveryOut.of(d) for d in items], next_cursor=next_cursor)


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/replay",
    status_code=202,
    response_model=DeliveryOut,
    summary="Deliver the event again from the first attempt (same `webhook-id`)",
    responses={
        202: {"description": "Accepted; the delivery starts over"},
        **responses(401, 422, 429, 503),
        404: describe("No such webhook or delivery", "not_found", "delivery not found"),
        **DISABLED,
    },
)
async def replay_delivery(
    webhook_id: WebhookId, delivery_id: DeliveryId, state: State, tenant: Tenant
) -> DeliveryOut:
    sub = await _get(state, tenant.tenant_id, webhook_id)
    if not sub.enabled:
        raise ApiError(409, "disabled", f"webhook {webhook_id} is disabled")
    delivery = await _deliveries(state).replay(tenant.tenant_id, webhook_id, delivery_id)
    if delivery is None:
        raise ApiError(404, "not_found", f"delivery {delivery_id} not found")
    job = DeliverWebhook(
        delivery_id=delivery.id, subscription_id=sub.id, generation=delivery.generation
    )
    try:
        await state.bus.publish(job, tenant_id=tenant.tenant_id, subject=sub.id)
    except PublishError as exc:  # no notifier consuming, or the broker away
        raise _unavailable(state, "webhook delivery unavailable") from exc
    return DeliveryOut.of(delivery)

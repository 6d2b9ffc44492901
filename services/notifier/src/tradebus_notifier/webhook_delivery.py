"""`notifier.webhook-deliver`: one attempt of one delivery per job.

The outcome decides what follows: 2xx delivered; 410 disables the subscription; 408,
429, 5xx, timeouts and connection errors schedule the next attempt on the delay network
(the schedule, or the receiver's Retry-After when longer) until the schedule ends; any
other answer fails the delivery. A subscription failing continuously past the bound is
disabled and `notifier.webhook.disabled.v1` announced."""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import structlog

from tradebus_contracts import DeliverWebhook, WebhookDisabled
from tradebus_messaging import MessageContext
from tradebus_resilience import parse_retry_after
from tradebus_storage import (
    Attempt,
    Delivery,
    DeliveryLog,
    DeliveryState,
    WebhookRepository,
    WebhookSubscription,
)

from .domain.cloudevents import encode
from .domain.outcomes import Verdict, classify, counts_against_breaker
from .domain.ports import (
    AddressGuard,
    AddressRefused,
    AddressUnresolvable,
    JobScheduler,
    TransportFactory,
)
from .domain.schedule import RetrySchedule
from .domain.signing import webhook_headers
from .gates import Gate, Gates
from .metrics import record_attempt

log = structlog.get_logger("tradebus.notifier.webhooks")

EXCERPT_BYTES = 512


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    schedule: RetrySchedule
    timeout: httpx.Timeout
    total_seconds: float  # the whole exchange: connect, send, answer
    defer_seconds: int
    gate_wait_seconds: float  # a full gate is waited on this long before deferring
    disable_after: timedelta
    disable_after_failures: int  # 0: no count bound


@dataclass(frozen=True, slots=True)
class Result:
    verdict: Verdict
    status: int | None = None
    latency_ms: int | None = None
    error: str | None = None
    retry_after: float | None = None


def job_message_id(delivery_id: str, generation: int, attempt: int) -> str:
    return hashlib.sha256(f"{delivery_id}:{generation}:{attempt}".encode()).hexdigest()[:32]


class WebhookDeliverer:
    def __init__(
        self,
        *,
        subscriptions: WebhookRepository,
        deliveries: DeliveryLog,
        guard: AddressGuard,
        transports: TransportFactory,
        scheduler: JobScheduler,
        gates: Gates,
        policy: DeliveryPolicy,
    ) -> None:
        self.subscriptions = subscriptions
        self.deliveries = deliveries
        self.guard = guard
        self.transports = transports
        self.scheduler = scheduler
        self.gates = gates
        self.policy = policy

    async def __call__(self, job: DeliverWebhook, ctx: MessageContext) -> None:
        """Idempotency: an attempt is recorded compare-and-set on (generation, attempts
        so far), so a duplicate job, a re-fanout copy or a job from before a replay finds
        its attempt taken and does nothing. The next attempt is published before this
        one is recorded: a crash between the two re-runs this attempt (receivers dedupe
        by the stable `webhook-id`) and leaves two copies of the next, of which the
        compare-and-set lets one through. Disabling is compare-and-set on `enabled`;
        the disabled event goes out with a message id derived from the subscription and
        the time it was disabled, and is re-sent by the next job until recorded as sent."""
        delivery = await self.deliveries.by_id(job.delivery_id)
        if delivery is None or not _current(delivery, job):
            log.info("stale delivery job skipped", delivery_id=job.delivery_id, attempt=job.attempt)
            return
        sub = await self.subscriptions.by_id(job.subscription_id)
        if sub is None or not sub.enabled:
            if sub is not None:
                await self._announce(sub, ctx)
            why = "subscription deleted" if sub is None else "subscription disabled"
            await self._record(delivery, job, Result(Verdict.FAIL, error=why))
            return
        gate = self.gates.get(sub.id)
        if not await gate.acquire(self.policy.gate_wait_seconds):
            # Its receiver is slow: wait on the delay network, not in a worker slot.
            await self.scheduler.schedule(
                job, delay_seconds=self.policy.defer_seconds, causation=ctx.envelope
            )
            return
        try:
            result = await self._send(sub, delivery, gate, ctx)
        finally:
            await gate.release()
        await self._settle(sub, delivery, job, result, ctx)
        await self.gates.evict()

    async def _send(
        self, sub: WebhookSubscription, delivery: Delivery, gate: Gate, ctx: MessageContext
    ) -> Result:
        try:
            address = await self.guard.resolve(sub.url)
        except AddressRefused as exc:
            return Result(Verdict.FAIL, error=f"refused: {exc}")
        except AddressUnresolvable as exc:
            return Result(Verdict.RETRY, error=str(exc))
        if not gate.breaker.try_acquire():
            return Result(Verdict.RETRY, error="circuit open: the receiver kept failing")
        body = encode(delivery.event)
        now = datetime.now(UTC)
        headers = webhook_headers(delivery.id, int(now.timestamp()), body, sub.signing_secrets(now))
        headers["user-agent"] = "tradebus-webhooks/1"
        if ctx.envelope.traceparent:
            headers["traceparent"] = ctx.envelope.traceparent
        client = gate.client_for(address, self.transports, self.policy.timeout)
        started = time.perf_counter()
        verdict: Verdict | None = None
        try:
            result = await self._post(client, sub.url, body, headers, started)
            verdict = result.verdict
            return result
        finally:
            if verdict is None:
                gate.breaker.release_probe()
            elif counts_against_breaker(verdict):
                gate.breaker.record_failure()
            else:
                gate.breaker.record_success()

    async def _post(
        self,
        client: httpx.AsyncClient,
        url: str,
        body: bytes,
        headers: dict[str, str],
        started: float,
    ) -> Result:
        def elapsed() -> int:
            return round((time.perf_counter() - started) * 1000)

        try:
            async with (
                asyncio.timeout(self.policy.total_seconds),
                client.stream("POST", url, content=body, headers=headers) as response,
            ):
                excerpt = b""
                async for chunk in response.aiter_bytes():
                    excerpt += chunk
                    if len(excerpt) >= EXCERPT_BYTES:
                        break
        except TimeoutError:
            return Result(Verdict.RETRY, latency_ms=elapsed(), error="timeout: no answer in time")
        except httpx.TimeoutException as exc:
            return Result(
                Verdict.RETRY, latency_ms=elapsed(), error=f"timeout: {type(exc).__name__}"
            )
        except httpx.HTTPError as exc:
            return Result(Verdict.RETRY, latency_ms=elapsed(), error=f"{type(exc).__name__}: {exc}")
        verdict = classify(response.status_code)
        error = None
        if verdict is not Verdict.DELIVERED:
            text = excerpt[:EXCERPT_BYTES].decode("utf-8", "replace").strip()
            error = f"HTTP {response.status_code}" + (f": {text}" if text else "")
        return Result(
            verdict,
            status=response.status_code,
            latency_ms=elapsed(),
            error=error,
            retry_after=parse_retry_after(response.headers.get("retry-after")),
        )

    async def _settle(
        self,
        sub: WebhookSubscription,
        delivery: Delivery,
        job: DeliverWebhook,
        result: Result,
        ctx: MessageContext,
    ) -> None:
        log.info(
            "webhook attempt",
            delivery_id=delivery.id,
            subscription_id=sub.id,
            attempt=job.attempt,
            verdict=result.verdict.value,
            status=result.status,
            latency_ms=result.latency_ms,
            error=result.error,
        )
        record_attempt(result.verdict.value, result.latency_ms)
        if result.verdict is Verdict.DELIVERED:
            await self._record(delivery, job, result)
            await self.subscriptions.record_success(sub.id)
            return
        if result.verdict is Verdict.GONE:
            await self._record(delivery, job, result)
            await self._disable(sub, "the endpoint answered 410 Gone", ctx)
            return
        delay = None
        if result.verdict is Verdict.RETRY:
            delay = self.policy.schedule.next_delay(job.attempt, retry_after=result.retry_after)
        if delay is not None:
            following = job.model_copy(update={"attempt": job.attempt + 1})
            await self.scheduler.schedule(following, delay_seconds=delay, causation=ctx.envelope)
        await self._record(delivery, job, result, retry_in=delay)
        failing = await self.subscriptions.record_failure(sub.id)
        if failing is not None and self._past_bound(failing):
            since = failing.failing_since.isoformat() if failing.failing_since else "?"
            await self._disable(
                failing,
                f"failing since {since} ({failing.consecutive_failures} attempts in a row)",
                ctx,
            )

    def _past_bound(self, sub: WebhookSubscription) -> bool:
        n = self.policy.disable_after_failures
        if n and sub.consecutive_failures >= n:
            return True
        if sub.failing_since is None:
            return False
        since = sub.failing_since
        since = since if since.tzinfo else since.replace(tzinfo=UTC)
        return datetime.now(UTC) - since >= self.policy.disable_after

    async def _record(
        self,
        delivery: Delivery,
        job: DeliverWebhook,
        result: Result,
        *,
        retry_in: int | None = None,
    ) -> None:
        now = datetime.now(UTC)
        if result.verdict is Verdict.DELIVERED:
            state = DeliveryState.DELIVERED
        else:
            state = DeliveryState.RETRYING if retry_in is not None else DeliveryState.FAILED
        await self.deliveries.record(
            delivery,
            Attempt(
                attempt=job.attempt,
                at=now,
                response_status=result.status,
                latency_ms=result.latency_ms,
                error=result.error,
            ),
            state=state,
            next_attempt_at=None if retry_in is None else now + timedelta(seconds=retry_in),
        )

    async def _disable(self, sub: WebhookSubscription, reason: str, ctx: MessageContext) -> None:
        disabled = await self.subscriptions.disable(sub.id, reason)
        if disabled is not None:
            log.warning("webhook subscription disabled", subscription_id=sub.id, reason=reason)
            await self._announce(disabled, ctx)

    async def _announce(self, sub: WebhookSubscription, ctx: MessageContext) -> None:
        if sub.disabled_announced or sub.disabled_at is None:
            return
        disabled_at = sub.disabled_at
        event = WebhookDisabled(
            tenant_id=sub.tenant_id,
            subscription_id=sub.id,
            url=sub.url,
            reason=sub.disabled_reason or "disabled",
            consecutive_failures=sub.consecutive_failures,
            disabled_at=disabled_at if disabled_at.tzinfo else disabled_at.replace(tzinfo=UTC),
        )
        key = f"disabled:{sub.id}:{disabled_at.isoformat()}"
        await ctx.publish(event, message_id=hashlib.sha256(key.encode()).hexdigest()[:32])
        await self.subscriptions.mark_announced(sub.id)


def _current(delivery: Delivery, job: DeliverWebhook) -> bool:
    """The job is the delivery's next attempt, in its current generation."""
    return (
        delivery.generation == job.generation
        and delivery.attempts == job.attempt - 1
        and delivery.state in (DeliveryState.PENDING, DeliveryState.RETRYING)
    )

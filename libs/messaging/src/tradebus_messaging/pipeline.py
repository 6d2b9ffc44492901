"""The per-message path of a consumer: decode -> deadline -> dispatch (inbox, time
limit) -> reply, or the retry or parked copy.

It decides only whether the delivery may be acked (its outcome is durable) or
must be requeued; the consumer owns the channel and sends the settlement.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import structlog
from aiormq.abc import DeliveredMessage

from tradebus_contracts import Envelope
from tradebus_observability import CURRENT_MESSAGE

from . import tracing
from .context import MessageContext
from .decode import Decoder, Inbound, Rejected, envelope_of
from .dispatch import Dispatcher
from .endpoint import Endpoint
from .errors import HandlerTimeout
from .failures import Fault
from .metrics import QueueMetrics
from .outcomes import Outcomes
from .retry import Park, Retry, RetryPolicy
from .throttle import Throttle

log = structlog.get_logger("tradebus.consumer")

Replier = Callable[[DeliveredMessage, Envelope, Any, BaseException | None], Any]


class Pipeline:
    def __init__(
        self,
        endpoint: Endpoint,
        *,
        decoder: Decoder,
        policy: RetryPolicy,
        outcomes: Outcomes,
        dispatcher: Dispatcher,
        replier: Replier | None = None,
        throttle: Throttle | None = None,
    ) -> None:
        self.endpoint = endpoint
        self._decode = decoder
        self._policy = policy
        self._outcomes = outcomes
        self._dispatch = dispatcher
        self._replier = replier
        self._throttle = throttle
        self._metrics: QueueMetrics = outcomes.metrics

    async def process(self, msg: DeliveredMessage, lane: str) -> bool:
        """Handle one delivery from the queue `lane`. True: ack it. False: requeue
        it (its retry or parked copy could not be made durable)."""
        headers = msg.header.properties.headers
        try:
            inbound = self._decode(headers, msg.body)
        except Rejected as rejected:
            return await self._reject(msg, rejected, lane)
        if inbound.deadline is not None and datetime.now(UTC) >= inbound.deadline:
            log.info("dropping expired message", queue=self.endpoint.queue, id=inbound.envelope.id)
            self._metrics.expired.inc()
            return True
        if self._replier is not None and not msg.header.properties.reply_to:
            # Nobody can hear the answer: drop it (counted), never loop on it.
            self._metrics.dropped.inc()
            log.warning("dropping request without reply_to", queue=self.endpoint.queue)
            return True
        if self._throttle is not None:  # the endpoint's rate, across every replica
            await self._throttle.admit()
        CURRENT_MESSAGE.set(inbound.envelope)  # log lines carry the message's ids
        with tracing.process_span(
            inbound.envelope,
            queue=self.endpoint.queue,
            attempt=inbound.attempt,
            rpc=self._replier is not None,
            replayed=inbound.replayed,
        ):
            return await self._handle(msg, inbound, lane)

    async def _handle(self, msg: DeliveredMessage, inbound: Inbound, lane: str) -> bool:
        """Run the handler in the delivery's span; then reply, or retry or park."""
        ctx = self._context(msg, inbound, lane)
        try:
            result = await self._dispatch(inbound.payload, ctx)
        except Exception as exc:
            tracing.record_failure(exc)
            if isinstance(exc, HandlerTimeout):
                self._metrics.timed_out.inc()
            if self._replier is not None:
                await self._replier(msg, inbound.envelope, None, exc)
                return True
            return await self._failed(msg, inbound, exc, lane)
        if self._replier is not None:
            await self._replier(msg, inbound.envelope, result, None)
        return True

    def _context(self, msg: DeliveredMessage, inbound: Inbound, lane: str) -> MessageContext:
        now = datetime.now(UTC)
        return MessageContext(
            envelope=inbound.envelope,
            queue=self.endpoint.queue,
            attempt=inbound.attempt,
            redelivered=bool(msg.delivery.redelivered),  # type: ignore[union-attr]
            deadline=inbound.deadline,
            session=None,
            _publish=self._dispatch.publish,
            replayed=inbound.replayed,
            lane=lane,
            time_limit=self.endpoint.time_limit_seconds,
            _last_attempt=self._policy.exhausted(inbound.attempt),
            _parks=lambda exc: isinstance(self._decide(inbound, exc, now), Park),
        )

    def _decide(self, inbound: Inbound, exc: BaseException, now: datetime) -> Retry | Park:
        return self._policy.decide(
            exc,
            attempt=inbound.attempt,
            outage_retries=inbound.outage_retries,
            first_failure=inbound.first_failure,
            now=now,
        )

    async def _reject(self, msg: DeliveredMessage, rejected: Rejected, lane: str) -> bool:
        """A delivery that cannot be handled: parked with its reason; an RPC caller
        also gets an error reply when it can be reached."""
        if self._replier is not None:
            envelope = rejected.envelope or envelope_of(msg.header.properties.headers)
            if envelope is not None and msg.header.properties.reply_to:
                await self._replier(msg, envelope, None, rejected)
        return await self._outcomes.park(
            msg, rejected.envelope, rejected.fault, attempts=1, lane=lane
        )

    async def _failed(
        self, msg: DeliveredMessage, inbound: Inbound, exc: Exception, lane: str
    ) -> bool:
        decision = self._decide(inbound, exc, datetime.now(UTC))
        if isinstance(decision, Park):
            fault = Fault.of(decision.reason, exc)
            return await self._outcomes.park(
                msg, inbound.envelope, fault, inbound.attempt, lane=lane
            )
        return await self._outcomes.retry(msg, inbound, decision, exc, lane=lane)

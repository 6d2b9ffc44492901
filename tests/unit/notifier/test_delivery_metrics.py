"""Webhook attempts are counted by outcome, with their latency."""

from __future__ import annotations

from prometheus_client import REGISTRY

from tradebus_contracts import DeliverWebhook

from .fakes import answering, context
from .test_deliverer import deliverer


def attempts(outcome: str) -> float:
    return REGISTRY.get_sample_value("tradebus_webhook_attempts_total", {"outcome": outcome}) or 0.0


def timed(outcome: str) -> float:
    value = REGISTRY.get_sample_value(
        "tradebus_webhook_attempt_seconds_count", {"outcome": outcome}
    )
    return value or 0.0


async def test_each_attempt_is_counted_by_its_outcome_and_timed() -> None:
    for status, outcome in ((204, "delivered"), (503, "retry"), (422, "fail"), (410, "gone")):
        before, before_timed = attempts(outcome), timed(outcome)
        transports, _ = answering(status)
        handler, _, _, _ = deliverer(transports)
        job = DeliverWebhook(delivery_id="msg_1", subscription_id="wh_1")
        await handler(job, context(job, []))
        assert attempts(outcome) == before + 1, outcome
        assert timed(outcome) == before_timed + 1, outcome

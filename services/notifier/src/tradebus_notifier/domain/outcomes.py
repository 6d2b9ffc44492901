"""What a receiver's answer means for the delivery."""

from __future__ import annotations

from enum import StrEnum


class Verdict(StrEnum):
    DELIVERED = "delivered"  # 2xx
    GONE = "gone"  # 410: the receiver asks us to stop; the subscription is disabled
    RETRY = "retry"  # 408, 429, 5xx, timeouts, connection errors
    FAIL = "fail"  # any other answer (other 4xx, redirects, which are not followed)


def classify(status: int | None) -> Verdict:
    """`status` None: no answer (timeout, connection refused or reset)."""
    if status is None:
        return Verdict.RETRY
    if 200 <= status < 300:
        return Verdict.DELIVERED
    if status == 410:
        return Verdict.GONE
    if status in (408, 429) or status >= 500:
        return Verdict.RETRY
    return Verdict.FAIL


def counts_against_breaker(verdict: Verdict) -> bool:
    """Only answers that say the receiver is unwell open its breaker; a 4xx is an
    answer from a healthy receiver."""
    return verdict is Verdict.RETRY

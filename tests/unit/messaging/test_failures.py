import random
from datetime import UTC, datetime

import pytest

from tradebus_messaging.failures import (
    H_ATTEMPT,
    H_FAULT_REASON,
    H_FIRST_FAILURE,
    H_ORIGINAL_ROUTING_KEY,
    FaultReason,
    attempt_of,
    fault_headers,
    replay_headers,
    retry_headers,
)
from tradebus_messaging.retry import RetryPolicy

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("attempt", [1, 2, 3, 6, 12])
def test_backoff_is_full_jitter_within_the_exponential_ceiling(attempt: int) -> None:
    policy = RetryPolicy(max_attempts=20, base_seconds=2, cap_seconds=60)
    rng = random.Random(attempt)
    ceiling = min(60, 2 * 2 ** (attempt - 1))
    samples = [policy.backoff(attempt, rng) for _ in range(500)]
    assert min(samples) >= 1
    assert max(samples) <= round(ceiling)
    if ceiling >= 8:
        assert len(set(samples)) > 3  # jittered, not a fixed step


def test_exhausted_after_max_attempts() -> None:
    policy = RetryPolicy(max_attempts=3, base_seconds=1, cap_seconds=10)
    assert not policy.exhausted(2)
    assert policy.exhausted(3)


def test_attempt_header_parsing_is_forgiving() -> None:
    assert attempt_of(None) == 1
    assert attempt_of({H_ATTEMPT: 4}) == 4
    assert attempt_of({H_ATTEMPT: "garbage"}) == 1
    assert attempt_of({H_ATTEMPT: -3}) == 1


def test_retry_headers_keep_the_first_failure_and_origin() -> None:
    first = retry_headers(
        {"x-death": [{}], "keep": "me"},
        next_attempt=2,
        original_exchange="tradebus.commands",
        original_routing_key="a.b.c.v1",
        now=NOW,
        exc=ValueError("boom"),
    )
    assert "x-death" not in first and first["keep"] == "me" and first[H_ATTEMPT] == 2
    later = retry_headers(
        first,
        next_attempt=3,
        original_exchange="tradebus.retry",
        original_routing_key="0.1.q",
        now=datetime(2027, 1, 1, tzinfo=UTC),
        exc=ValueError("again"),
    )
    assert later[H_FIRST_FAILURE] == NOW.isoformat()
    assert later[H_ORIGINAL_ROUTING_KEY] == "a.b.c.v1"


def test_fault_headers_carry_the_standard_fields() -> None:
    headers = fault_headers(
        {},
        reason=FaultReason.PERMANENT,
        exc_type="x.Err",
        exc_message="m" * 5000,
        stacktrace="tb",
        attempts=2,
        queue="q",
        service="svc",
        host="h",
        original_exchange="e",
        original_routing_key="k",
        now=NOW,
    )
    assert headers[H_FAULT_REASON] == "permanent"
    assert len(headers["x-tradebus-exception-message"]) == 2000
    for key in (
        "x-tradebus-failed-service",
        "x-tradebus-failed-host",
        "x-tradebus-original-queue",
        "x-tradebus-original-exchange",
        "x-tradebus-last-failure-at",
    ):
        assert headers[key]
    replay = replay_headers(headers)
    assert replay[H_ATTEMPT] == 1 and H_FAULT_REASON not in replay

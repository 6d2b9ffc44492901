import pytest

from tradebus_gateway.limits import (
    DrainEstimator,
    TenantRateLimiter,
    TokenBucket,
    retry_after_seconds,
)


def test_token_bucket_allows_the_burst_then_says_how_long_to_wait() -> None:
    bucket = TokenBucket(rate=2.0, burst=3, tokens=3, stamp=0.0)
    assert [bucket.take(0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take(0.0) == pytest.approx(0.5)
    assert bucket.take(0.5) == 0.0  # refilled one token in half a second
    assert bucket.take(10.0) == 0.0 and bucket.tokens == pytest.approx(2.0)  # capped at burst


def test_tenants_have_separate_buckets_and_old_ones_are_forgotten() -> None:
    limiter = TenantRateLimiter(rate=1.0, burst=1, max_tenants=2)
    assert limiter.check("a", 0.0) == 0.0
    assert limiter.check("a", 0.0) > 0
    assert limiter.check("b", 0.0) == 0.0
    limiter.check("c", 0.0)  # evicts "a", the least recently used
    assert limiter.check("a", 0.0) == 0.0


def test_drain_rate_counts_arrivals_the_depth_hides() -> None:
    estimator = DrainEstimator(alpha=1.0)
    estimator.observe(0.0, depth=100, published_since=0)
    assert estimator.rate is None
    estimator.observe(1.0, depth=100, published_since=20)  # 20 arrived, depth unchanged
    assert estimator.rate == pytest.approx(20.0)
    estimator.observe(2.0, depth=150, published_since=0)  # growing: nothing drained
    assert estimator.rate == 0.0


@pytest.mark.parametrize(
    ("depth", "limit", "rate", "expected"),
    [
        (150, 100, 10.0, 6),
        (100, 100, 1000.0, 1),
        (5000, 100, 1.0, 300),
        (200, 100, None, 300),
        (200, 100, 0.0, 300),
    ],
)
def test_retry_after_follows_the_drain_rate(depth, limit, rate, expected) -> None:
    assert retry_after_seconds(depth, limit, rate, cap=300) == expected

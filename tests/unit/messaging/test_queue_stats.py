"""Queue stats: parsing the management API's rows, the oldest-age estimate for queues
without a head timestamp, and the sampler's export under a lease."""

from __future__ import annotations

from typing import Any

from prometheus_client import REGISTRY

from tradebus_messaging.queue_stats import AgeEstimator, QueueStatsSampler, parse, vhost_of


def row(name: str, ready: int | None, **extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"name": name, "arguments": {"x-queue-type": "quorum"}}
    if ready is not None:
        base |= {"messages_ready": ready, "messages_unacknowledged": 1, "consumers": 2}
    return base | extra


def gauge(name: str, queue: str) -> float | None:
    return REGISTRY.get_sample_value(name, {"queue": queue})


def test_parse_reads_figures_and_skips_replica_and_unreported_queues() -> None:
    rows = [
        row("svc.work", 5, head_message_timestamp=970),
        row("svc.refresh.pod-1", 3, arguments={"x-expires": 60000}),
        row("svc.new", None),
        row("amq.gen-abc", 1),
    ]
    [stats] = parse(rows, now=1000.0, ages=AgeEstimator())
    assert (stats.name, stats.ready, stats.unacked, stats.consumers) == ("svc.work", 5, 1, 2)
    assert stats.oldest_age_seconds == 30.0  # from the broker's head timestamp


def test_an_empty_queue_has_no_age_even_with_a_stale_head_timestamp() -> None:
    [stats] = parse([row("q", 0, head_message_timestamp=1)], now=1000.0, ages=AgeEstimator())
    assert stats.oldest_age_seconds == 0.0


def test_age_estimate_follows_the_backlog_until_it_is_delivered() -> None:
    ages = AgeEstimator()
    # t=0: 10 ready, 0 delivered -> they are all out once 10 deliveries happened.
    assert ages.observe("q", now=0, ready=10, delivered=0) == 0
    # t=15: 4 delivered, 6 more published: the first ten are not all out yet.
    assert ages.observe("q", now=15, ready=12, delivered=4) == 15
    # t=30: 10 delivered: the t=0 backlog is gone; the oldest is from before t=15.
    assert ages.observe("q", now=30, ready=10, delivered=10) == 15
    # A consumer that stalls: the age keeps growing.
    assert ages.observe("q", now=90, ready=10, delivered=10) == 75
    # Drained: no age.
    assert ages.observe("q", now=100, ready=0, delivered=20) == 0


def test_age_estimate_restarts_when_the_broker_counters_do() -> None:
    ages = AgeEstimator()
    ages.observe("q", now=0, ready=5, delivered=100)
    assert ages.observe("q", now=10, ready=5, delivered=0) == 0  # broker restarted


def test_age_estimate_keeps_its_memory_bounded() -> None:
    ages = AgeEstimator()
    for t in range(2000):  # steady inflow, nothing delivered
        age = ages.observe("q", now=t, ready=t + 1, delivered=0)
    assert age == 1999
    assert len(ages._tracks["q"].marks) <= 513


class FakeLeases:
    def __init__(self, granted: bool) -> None:
        self.granted = granted
        self.released: list[str] = []

    async def acquire(self, name: str, holder: str, ttl: Any) -> bool:
        return self.granted

    async def release(self, name: str, holder: str) -> None:
        self.released.append(holder)


async def test_sampler_exports_and_drops_queues_that_disappear() -> None:
    answers = [
        [row("ut.sampler.a", 3), row("ut.sampler.b.dlq", 7)],
        [row("ut.sampler.a", 1)],
    ]

    async def fetch() -> list[dict[str, Any]]:
        return answers.pop(0)

    sampler = QueueStatsSampler(fetch, interval=1, clock=lambda: 500.0)
    latest = await sampler.sample()
    assert set(latest) == {"ut.sampler.a", "ut.sampler.b.dlq"}
    assert gauge("tradebus_queue_ready_messages", "ut.sampler.b.dlq") == 7
    assert gauge("tradebus_queue_consumers", "ut.sampler.a") == 2
    assert REGISTRY.get_sample_value("tradebus_queue_stats_last_success_timestamp_seconds") == 500
    await sampler.sample()
    assert gauge("tradebus_queue_ready_messages", "ut.sampler.a") == 1
    assert gauge("tradebus_queue_ready_messages", "ut.sampler.b.dlq") is None
    sampler.clear()
    assert gauge("tradebus_queue_ready_messages", "ut.sampler.a") is None


async def test_a_replica_without_the_lease_does_not_sample_or_export() -> None:
    import asyncio

    calls = 0

    async def fetch() -> list[dict[str, Any]]:
        nonlocal calls
        calls += 1
        return [row("ut.sampler.c", 1)]

    leases = FakeLeases(granted=False)
    sampler = QueueStatsSampler(fetch, interval=0.01, leases=leases, holder="me")
    sampler.start()
    await asyncio.sleep(0.05)
    await sampler.stop()
    assert calls == 0
    assert gauge("tradebus_queue_ready_messages", "ut.sampler.c") is None
    assert leases.released == ["me"]


async def test_a_failed_fetch_is_retried_on_the_next_interval() -> None:
    import asyncio

    attempts = 0
    sampled = asyncio.Event()

    async def fetch() -> list[dict[str, Any]]:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise ConnectionError("management API down")
        sampled.set()
        return [row("ut.sampler.d", 4)]

    sampler = QueueStatsSampler(fetch, interval=0.01, leases=FakeLeases(granted=True), holder="me")
    sampler.start()
    await asyncio.wait_for(sampled.wait(), timeout=5)
    assert gauge("tradebus_queue_ready_messages", "ut.sampler.d") == 4
    await sampler.stop()


def test_vhost_of_the_amqp_url() -> None:
    assert vhost_of("amqp://guest:guest@127.0.0.1:5672/") == "/"
    assert vhost_of("amqp://guest:guest@127.0.0.1:5672") == "/"
    assert vhost_of("amqp://u:p@h:5672/it-x%2Fy") == "it-x/y"

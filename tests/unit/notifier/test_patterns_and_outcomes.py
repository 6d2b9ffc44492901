import pytest

from tradebus_notifier.domain.outcomes import Verdict, classify, counts_against_breaker
from tradebus_notifier.domain.patterns import matches_any, topic_matches


@pytest.mark.parametrize(
    ("pattern", "message_type", "expected"),
    [
        ("omnirag.document.indexed.v1", "omnirag.document.indexed.v1", True),
        ("omnirag.document.indexed.v1", "omnirag.document.ingest.v1", False),
        ("omnirag.*.indexed.v1", "omnirag.document.indexed.v1", True),
        ("omnirag.*.v1", "omnirag.document.indexed.v1", False),  # * is exactly one word
        ("omnirag.#", "omnirag.document.indexed.v1", True),
        ("omnirag.#.v1", "omnirag.document.indexed.v1", True),
        ("#.v1", "task.status.changed.v1", True),
        ("#", "task.status.changed.v1", True),
        ("task.#", "task", True),  # # matches zero words
        ("task.*", "task", False),
        ("*.status.#", "task.status.changed.v1", True),
        ("task.status.changed.v1.#", "task.status.changed.v1", True),
        ("tradebus.webhook.test.v1", "tradebus.webhook.test.v2", False),
    ],
)
def test_topic_semantics(pattern: str, message_type: str, expected: bool) -> None:
    assert topic_matches(pattern, message_type) is expected


def test_any_pattern_of_a_subscription() -> None:
    assert matches_any(["task.#", "omnirag.document.indexed.v1"], "task.status.changed.v1")
    assert not matches_any(["task.#"], "omnirag.document.indexed.v1")
    assert not matches_any([], "task.status.changed.v1")


@pytest.mark.parametrize(
    ("status", "verdict"),
    [
        (200, Verdict.DELIVERED),
        (204, Verdict.DELIVERED),
        (299, Verdict.DELIVERED),
        (410, Verdict.GONE),
        (429, Verdict.RETRY),
        (408, Verdict.RETRY),
        (500, Verdict.RETRY),
        (503, Verdict.RETRY),
        (None, Verdict.RETRY),  # timeout or connection error
        (400, Verdict.FAIL),
        (401, Verdict.FAIL),
        (404, Verdict.FAIL),
        (301, Verdict.FAIL),  # redirects are not followed
        (101, Verdict.FAIL),
    ],
)
def test_outcome_classification(status: int | None, verdict: Verdict) -> None:
    assert classify(status) is verdict


def test_only_an_unwell_receiver_counts_against_its_breaker() -> None:
    assert counts_against_breaker(Verdict.RETRY)
    assert not any(
        counts_against_breaker(v) for v in (Verdict.DELIVERED, Verdict.FAIL, Verdict.GONE)
    )

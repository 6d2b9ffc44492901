"""A batch's outcome from its children's counts: nothing until every child ended; then
failed if any failed, else cancelled if any was cancelled, else succeeded."""

from __future__ import annotations

import pytest

from tradebus_contracts import TaskStatus as S
from tradebus_storage import ChildCounts


@pytest.mark.parametrize(
    ("by_status", "outcome"),
    [
        ({"queued": 3}, None),
        ({"succeeded": 2, "running": 1}, None),
        ({"succeeded": 2, "retrying": 1}, None),
        ({"succeeded": 3}, S.SUCCEEDED),
        ({"succeeded": 2, "failed": 1}, S.FAILED),
        ({"cancelled": 1, "failed": 1, "succeeded": 1}, S.FAILED),
        ({"succeeded": 1, "cancelled": 2}, S.CANCELLED),
    ],
)
def test_the_outcome_follows_the_children(by_status: dict[str, int], outcome: S | None) -> None:
    assert ChildCounts.of(3, by_status).outcome() is outcome


def test_a_child_deleted_after_it_ended_counts_as_ended() -> None:
    counts = ChildCounts.of(3, {"succeeded": 2})  # the third was deleted once it ended
    assert counts.done == 3 and counts.outcome() is S.SUCCEEDED
    assert counts.result() == {"total": 3, "succeeded": 2, "failed": 0, "cancelled": 0}


def test_progress_and_started() -> None:
    fresh = ChildCounts.of(4, {"queued": 4})
    assert fresh.done == 0 and not fresh.started
    half = ChildCounts.of(4, {"queued": 2, "running": 1, "failed": 1})
    assert half.done == 1 and half.started

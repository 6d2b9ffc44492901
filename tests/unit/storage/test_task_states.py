import itertools

import pytest

from tradebus_contracts import TaskStatus as S
from tradebus_storage import TERMINAL, can_transition

LEGAL = {
    (S.QUEUED, S.RUNNING),
    (S.QUEUED, S.FAILED),
    (S.QUEUED, S.CANCELLED),
    (S.RUNNING, S.SUCCEEDED),
    (S.RUNNING, S.FAILED),
    (S.RUNNING, S.RETRYING),
    (S.RUNNING, S.CANCELLED),
    (S.RETRYING, S.RUNNING),
    (S.RETRYING, S.FAILED),
    (S.RETRYING, S.CANCELLED),
}


@pytest.mark.parametrize(("source", "target"), list(itertools.product(S, S)))
def test_transition_table(source: S, target: S) -> None:
    assert can_transition(source, target) == ((source, target) in LEGAL)


def test_terminal_states_never_move() -> None:
    assert {S.SUCCEEDED, S.FAILED, S.CANCELLED} == TERMINAL
    for source, target in itertools.product(TERMINAL, S):
        assert not can_transition(source, target)

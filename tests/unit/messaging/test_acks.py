from tradebus_messaging.acks import AckTracker


def test_acks_only_the_contiguous_settled_prefix() -> None:
    acks = AckTracker()
    for tag in (1, 2, 3, 4):
        acks.delivered(tag)
    acks.settle(2)
    acks.settle(3)
    assert acks.advance() is None  # 1 is still running
    acks.settle(1)
    assert acks.advance() == 3
    assert acks.outstanding == 1
    acks.settle(4)
    assert acks.advance() == 4
    assert acks.advance() is None


def test_forgotten_tags_do_not_block_the_run() -> None:
    acks = AckTracker()
    for tag in (1, 2, 3):
        acks.delivered(tag)
    acks.forget(1)  # nacked individually
    acks.settle(2)
    assert acks.advance() == 2


def test_take_blocked_returns_settled_tags_behind_a_slow_head() -> None:
    acks = AckTracker()
    for tag in (1, 2, 3):
        acks.delivered(tag)
    acks.settle(3)
    acks.settle(2)
    assert acks.take_blocked() == [2, 3]
    assert acks.pending == 0
    acks.settle(1)
    assert acks.advance() == 1  # never re-acks 2 or 3
    assert acks.outstanding == 0

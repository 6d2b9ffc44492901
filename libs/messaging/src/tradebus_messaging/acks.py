"""Coalesced acknowledgements.

Handlers finish out of order, but `basic.ack(multiple=True)` acknowledges every
tag up to the one named. The tracker acks only up to the highest tag below which
everything is settled, so one frame covers a whole run of completions. When a
slow message at the head blocks that run for long, the settled tags behind it
are acked one by one so the prefetch window keeps moving.
"""

from __future__ import annotations

import contextlib
from collections import deque


class AckTracker:
    __slots__ = ("_done", "_outstanding")

    def __init__(self) -> None:
        self._outstanding: deque[int] = deque()
        self._done: set[int] = set()

    def delivered(self, tag: int) -> None:
        self._outstanding.append(tag)

    def settle(self, tag: int) -> None:
        """Mark a tag ready to be acknowledged."""
        self._done.add(tag)

    def forget(self, tag: int) -> None:
        """The tag was settled individually (nack); it no longer blocks the run."""
        with contextlib.suppress(ValueError):
            self._outstanding.remove(tag)
        self._done.discard(tag)

    def advance(self) -> int | None:
        """Pop the contiguous settled prefix; return the tag to ack with
        multiple=True, or None when nothing new can be acked."""
        upto = None
        outstanding, done = self._outstanding, self._done
        while outstanding and outstanding[0] in done:
            upto = outstanding.popleft()
            done.discard(upto)
        return upto

    def take_blocked(self) -> list[int]:
        """Settled tags stuck behind an unsettled head, to be acked individually."""
        if not self._done:
            return []
        singles = sorted(self._done)
        self._done.clear()
        remaining = set(singles)
        self._outstanding = deque(t for t in self._outstanding if t not in remaining)
        return singles

    @property
    def pending(self) -> int:
        """Settled but not yet acknowledged."""
        return len(self._done)

    @property
    def outstanding(self) -> int:
        return len(self._outstanding)

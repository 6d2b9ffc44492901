"""This replica's in-flight budgets (the limits shared across replicas are in
`shared_limits`, ingest admission in `admission_policy`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class InFlightBudget:
    """How many calls of one kind may be outstanding at once. A full budget refuses at
    once (the caller answers 429) rather than waiting: a queue of callers in front of a
    slow downstream only turns into a wall of timeouts. Used from one event loop, so a
    plain counter is enough."""

    limit: int
    in_flight: int = 0

    def try_acquire(self) -> bool:
        if self.in_flight >= self.limit:
            return False
        self.in_flight += 1
        return True

    def release(self) -> None:
        self.in_flight = max(0, self.in_flight - 1)

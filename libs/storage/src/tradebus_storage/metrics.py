"""Task outcomes, counted where the terminal transition is recorded: the
compare-and-set lets exactly one writer move a task to a terminal state, so each
outcome counts once (a task revived by a replay and finished again counts again)."""

from __future__ import annotations

from prometheus_client import Counter

TASKS_FINISHED = Counter(
    "tradebus_tasks_finished_total",
    "Tasks reaching a terminal state, by kind and status (succeeded, failed, cancelled).",
    ["kind", "status"],
)

"""Every metric the code declares is also set somewhere: a declared-but-never-set
gauge exports a constant that dashboards and alerts would trust."""

from __future__ import annotations

from pathlib import Path

from tests.support.declared_metrics import declared, loaded_names, source_files


def test_the_scan_finds_the_metrics_we_know() -> None:
    names = {d.name for d in declared()}
    assert {
        "tradebus_messages_total",
        "tradebus_queue_ready_messages",
        "tradebus_queue_oldest_message_age_seconds",
        "tradebus_http_request_seconds",
        "tradebus_tasks_finished_total",
        "tradebus_webhook_attempts_total",
        "tradebus_event_loop_lag_seconds",
    } <= names


def test_metric_names_are_unique_and_prefixed() -> None:
    names = [d.name for d in declared()]
    assert len(names) == len(set(names))
    assert all(n.startswith("tradebus_") for n in names)


def test_every_declared_metric_is_used() -> None:
    used = loaded_names(source_files())
    unused = [
        f"{d.variable} ({d.name}, {d.path.name})" for d in declared() if d.variable not in used
    ]
    assert not unused, "declared but never set: " + ", ".join(unused)


def test_a_metric_that_is_only_declared_is_reported(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "from prometheus_client import Counter, Gauge\n"
        'USED = Counter("tradebus_used_total", "x")\n'
        'IDLE = Gauge("tradebus_idle", "x")\n'
        "def f():\n    USED.inc()\n"
    )
    found = {d.variable for d in declared([module])}
    assert found == {"USED", "IDLE"}
    assert found - loaded_names([module]) == {"IDLE"}

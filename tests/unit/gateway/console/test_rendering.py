"""Console templates: whatever a parked message carries is shown as text, never markup."""

from __future__ import annotations

import re
from types import SimpleNamespace

from tradebus_gateway.console.rendering import (
    Renderer,
    build_environment,
    duration,
    rate,
    short,
    when,
)

from .fakes import HOSTILE, parked_message

SESSION = SimpleNamespace(csrf_token="tok", key_id="k" * 64, label="ops")
REQUEST = SimpleNamespace(query_params={"notice": HOSTILE})


def _render(template: str, **context: object) -> str:
    renderer = Renderer(build_environment(), poll_seconds=2)
    return renderer.text(template, session=SESSION, request=REQUEST, live_url="/x", **context)


def test_a_hostile_parked_message_is_escaped_everywhere_it_shows() -> None:
    hostile_id = '"><script>alert(2)</script>'
    html = _render(
        "lot.html",
        lot="omnirag-ingest.ingest.dlq",
        summary=None,
        reason="",
        messages=[parked_message(message_id=hostile_id, type=HOSTILE, exception=HOSTILE)],
    )
    assert "<script>" not in html.replace('<script src="/console/static/htmx.min.js" defer>', "")
    assert "<img" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert 'value="&#34;&gt;&lt;script&gt;alert(2)&lt;/script&gt;"' in html


def test_a_hostile_task_error_and_history_are_escaped() -> None:
    task = {
        "id": "t-1",
        "status": "failed",
        "progress": None,
        "error": {"code": "malformed", "message": HOSTILE},
        "history": [{"at": "2026-12-03T08:00:00Z", "status": "failed", "message": HOSTILE}],
        "result": {"html": HOSTILE},
    }
    html = _render("_task.html", task=task)
    assert "<script" not in html and "<img" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "Cancel this task" not in html  # a failed task has nothing to cancel


def test_the_page_never_shows_the_key_only_a_digest_prefix() -> None:
    html = _render("overview.html", active="overview", data={"queues": [], "services": []})
    assert "k" * 13 not in html and "k" * 12 in html


def test_the_overview_marks_work_nobody_consumes_and_folds_the_other_queues() -> None:
    def queue(name: str, kind: str, ready: int, consumers: int) -> dict[str, object]:
        return {"name": name, "kind": kind, "ready": ready, "unacked": 0, "consumers": consumers}

    data = {
        "queues": [
            queue("a.stuck", "work", 5, 0),
            queue("a.idle", "work", 0, 0),
            queue("a.busy", "work", 5, 2),
            queue("a.stuck.dlq", "parking", 3, 0),
            queue("tradebus.delay.00", "other", 0, 0),
        ],
        "services": [],
        "alerts": [{"rule": "Backlog", "state": "firing", "since": None, "summary": HOSTILE}],
    }
    html = _render("_overview.html", data=data)
    rows = {
        m[1]: m[0]
        for m in re.findall(
            r'<tr class="([^"]*)">\s*<td data-label="Queue">(?:<a[^>]*>)?([^<]+)', html
        )
    }
    assert rows == {
        "a.stuck": "bad",
        "a.idle": "",
        "a.busy": "",
        "a.stuck.dlq": "warn",
        "tradebus.delay.00": "",
    }
    main, other = html.split("1 other queues")
    assert "tradebus.delay.00" in other and "tradebus.delay.00" not in main
    assert "<script>" not in html  # the alert's summary is text


def test_a_live_fragment_polls_its_own_url() -> None:
    html = _render("_tasks.html", data={"items": [], "next_cursor": None}, filters={})
    assert 'hx-get="/x"' in html and 'hx-trigger="every 2s, refresh-live"' in html


def test_filters_read_as_people_expect() -> None:
    assert duration(None) == "-"
    assert duration(0) == "0s"
    assert duration(95) == "1m 35s"
    assert duration(90_061) == "1d 1h"
    assert when("2026-12-03T08:00:05.123456+00:00") == "2026-12-03 08:00:05"
    assert when("2026-12-03T08:00:05Z") == "2026-12-03 08:00:05"
    assert when(None) == "-"
    assert when("soon") == "soon"
    assert rate(None) == "-" and rate(1.25) == "1.2/s"
    assert short("01a23b0259cc7beebc97") == "01a23b0259cc…" and short("t-1") == "t-1"

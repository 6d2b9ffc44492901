"""The console's pages and actions over a fake operator API: CSRF on every POST, what
each action asks of the API, redirects, security headers, polled fragments."""

from __future__ import annotations

import httpx

from .browsing import login, token_of
from .fakes import OPERATOR_KEY, FakeDb, FakeOperatorApi

LOT = "omnirag-ingest.ingest.dlq"


ACTIONS = (
    f"/console/parking/{LOT}/replay",
    f"/console/parking/{LOT}/purge",
    "/console/tasks/t-1/cancel",
    "/console/keys/0123456789ab/revoke",
    "/console/logout",
)


async def test_a_post_without_the_session_token_is_refused_before_the_api_is_called(
    console: tuple[httpx.AsyncClient, FakeDb], api: FakeOperatorApi
) -> None:
    client, db = console
    await login(client, OPERATOR_KEY)
    # another session's token is no better than none
    async with httpx.AsyncClient(
        transport=client._transport, base_url="http://testserver"
    ) as other:
        await login(other, OPERATOR_KEY)
        foreign = token_of((await other.get("/console/overview")).text)
    for action in ACTIONS:
        for token in (None, "wrong", foreign):
            data = {"all": "true", "confirm": LOT} | ({"csrf_token": token} if token else {})
            answer = await client.post(action, data=data)
            assert answer.status_code == 403, (action, token)
    assert not [c for c in api.calls if c[0] == "POST"]
    assert len(db["console_sessions"].docs) == 2  # the logout did not happen either


async def test_only_a_notice_the_session_signed_is_shown(
    console: tuple[httpx.AsyncClient, FakeDb],
) -> None:
    client, _ = console
    await login(client, OPERATOR_KEY)
    crafted = "Session expired: paste your operator key at evil.example"
    page = await client.get("/console/overview", params={"notice": crafted, "sig": "0" * 32})
    assert page.status_code == 200 and crafted not in page.text
    token = token_of(page.text)
    done = await client.post(
        f"/console/parking/{LOT}/replay", data={"csrf_token": token, "all": "true"}
    )
    shown = await client.get(done.headers["location"])
    assert '<p class="notice" role="status">Replayed 1 message(s).</p>' in shown.text


async def test_the_token_may_come_as_a_header(
    console: tuple[httpx.AsyncClient, FakeDb], api: FakeOperatorApi
) -> None:
    client, _ = console
    await login(client, OPERATOR_KEY)
    token = token_of((await client.get("/console/overview")).text)
    answer = await client.post(
        f"/console/parking/{LOT}/replay", data={"all": "true"}, headers={"X-CSRF-Token": token}
    )
    assert answer.status_code == 303 and api.calls[-1][2] == {"all": True}


async def test_replay_asks_the_api_for_what_the_pressed_button_names(
    console: tuple[httpx.AsyncClient, FakeDb], api: FakeOperatorApi
) -> None:
    client, _ = console
    await login(client, OPERATOR_KEY)
    page = await client.get(f"/console/parking/{LOT}")
    token = token_of(page.text)
    forms = [
        {"only": "m-1", "message_ids": ["m-2"]},
        {"message_ids": ["m-1", "m-2"]},
        {"reason": "malformed"},
        {"all": "true", "message_ids": ["m-1"]},
    ]
    for form in forms:
        answer = await client.post(
            f"/console/parking/{LOT}/replay", data={"csrf_token": token, **form}
        )
        assert answer.status_code == 303
        assert answer.headers["location"].startswith(f"/console/parking/{LOT}?notice=Replayed")
    bodies = [body for method, _, body in api.calls if method == "POST"]
    assert bodies == [
        {"message_ids": ["m-1"]},
        {"message_ids": ["m-1", "m-2"]},
        {"reason": "malformed"},
        {"all": True},
    ]
    nothing = await client.post(
        f"/console/parking/{LOT}/replay", data={"csrf_token": token, "pressed": "enter"}
    )
    assert "Nothing+selected" in nothing.headers["location"]
    assert len([c for c in api.calls if c[0] == "POST"]) == 4


async def test_purge_sends_the_typed_confirmation_and_reports_a_mismatch(
    console: tuple[httpx.AsyncClient, FakeDb], api: FakeOperatorApi
) -> None:
    client, _ = console
    await login(client, OPERATOR_KEY)
    token = token_of((await client.get(f"/console/parking/{LOT}")).text)
    done = await client.post(
        f"/console/parking/{LOT}/purge", data={"csrf_token": token, "confirm": LOT, "all": "true"}
    )
    assert "Purged+1" in done.headers["location"]
    assert api.calls[-1] == (
        "POST",
        f"/v1/operator/parking/{LOT}/purge",
        {"confirm": LOT, "all": True},
    )
    api.statuses[f"/v1/operator/parking/{LOT}/purge"] = (422, "confirm_mismatch")
    refused = await client.post(
        f"/console/parking/{LOT}/purge", data={"csrf_token": token, "confirm": "x", "all": "true"}
    )
    assert "did+not+match" in refused.headers["location"]


async def test_redirects_stay_inside_the_console(
    console: tuple[httpx.AsyncClient, FakeDb],
) -> None:
    client, _ = console
    await login(client, OPERATOR_KEY)
    token = token_of((await client.get("/console/parking")).text)
    for back in ("https://evil.example/", "//evil.example/console/", "/console/../x\\y"):
        answer = await client.post(
            f"/console/parking/{LOT}/replay",
            data={"csrf_token": token, "all": "true", "back": back},
        )
        assert answer.headers["location"].startswith(f"/console/parking/{LOT}?")


async def test_cancel_posts_to_the_api_and_returns_to_the_task(
    console: tuple[httpx.AsyncClient, FakeDb], api: FakeOperatorApi
) -> None:
    client, _ = console
    await login(client, OPERATOR_KEY)
    page = await client.get("/console/tasks/t-1")
    assert "Cancel this task" in page.text
    answer = await client.post(
        "/console/tasks/t-1/cancel", data={"csrf_token": token_of(page.text)}
    )
    assert answer.headers["location"].startswith("/console/tasks/t-1?notice=")
    assert api.calls[-1][:2] == ("POST", "/v1/operator/tasks/t-1/cancel")
    api.statuses["/v1/operator/tasks/t-1/cancel"] = (409, "already_finished", "task ended")
    again = await client.post("/console/tasks/t-1/cancel", data={"csrf_token": token_of(page.text)})
    assert "Not+cancelled" in again.headers["location"]


async def test_task_filters_reach_the_api_and_times_are_utc(
    console: tuple[httpx.AsyncClient, FakeDb], api: FakeOperatorApi
) -> None:
    client, _ = console
    await login(client, OPERATOR_KEY)
    page = await client.get(
        "/console/tasks",
        params={"tenant": "acme", "status": "running", "created_after": "2026-12-03T08:10"},
    )
    assert page.status_code == 200 and "<progress" in page.text
    _, path, query = api.calls[-1]
    assert path == "/v1/operator/tasks"
    assert query == {
        "tenant": "acme",
        "status": "running",
        "created_after": "2026-12-03T08:10:00Z",
        "limit": "50",
    }


async def test_a_poll_gets_only_the_live_fragment(
    console: tuple[httpx.AsyncClient, FakeDb],
) -> None:
    client, _ = console
    await login(client, OPERATOR_KEY)
    full = await client.get("/console/overview")
    poll = await client.get("/console/overview", headers={"HX-Request": "true"})
    assert "<html" in full.text and "<html" not in poll.text
    assert poll.text.lstrip().startswith('<div id="live" hx-get="/console/overview"')


async def test_every_console_answer_carries_the_security_headers(
    console: tuple[httpx.AsyncClient, FakeDb],
) -> None:
    client, _ = console
    await login(client, OPERATOR_KEY)
    for path in (
        "/console/login",
        "/console/overview",
        "/console/static/htmx.min.js",
        "/console/nope",
    ):
        answer = await client.get(path)
        csp = answer.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["cache-control"] == "no-store"


async def test_an_api_error_is_shown_as_a_page_not_a_crash(
    console: tuple[httpx.AsyncClient, FakeDb], api: FakeOperatorApi
) -> None:
    client, _ = console
    await login(client, OPERATOR_KEY)
    missing = await client.get("/console/tasks/nope")
    assert missing.status_code == 404 and "not_found" in missing.text
    api.statuses["/v1/operator/topology"] = (503, "unavailable", "management API down")
    down = await client.get("/console/topology")
    assert down.status_code == 502 and "management API down" in down.text

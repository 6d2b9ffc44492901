"""Logging in to the console over a fake operator API: by role, the session cookie, the
login form's own token, a revoked key, logout; each audited."""

from __future__ import annotations

import httpx
import pytest

from tradebus_gateway.console.deps import SESSION_COOKIE

from .browsing import login, token_of
from .fakes import OPERATOR_KEY, TENANT_KEY, FakeDb, FakeOperatorApi


async def test_an_operator_key_opens_a_session_cookie_that_scripts_cannot_read(
    console: tuple[httpx.AsyncClient, FakeDb],
) -> None:
    client, db = console
    answer = await login(client, OPERATOR_KEY)
    assert answer.status_code == 303 and answer.headers["location"] == "/console/overview"
    cookie = next(
        c for c in answer.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE + "=")
    )
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/console" in cookie
    assert OPERATOR_KEY not in cookie
    page = await client.get("/console/overview")
    assert page.status_code == 200 and "omnirag-ingest.ingest" in page.text
    assert OPERATOR_KEY not in page.text
    (record,) = db["audit"].docs.values()
    assert record["action"] == "console.login" and record["outcome"] == "ok"
    assert record["actor"]["label"] == "night shift"


@pytest.mark.parametrize(
    ("key", "status", "says"),
    [
        (TENANT_KEY, 403, "A tenant key cannot open the console"),
        ("tb_made_up", 401, "Unknown or revoked key"),
    ],
)
async def test_other_keys_are_refused_and_get_no_session(
    console: tuple[httpx.AsyncClient, FakeDb], key: str, status: int, says: str
) -> None:
    client, db = console
    answer = await login(client, key)
    assert answer.status_code == status and says in answer.text
    assert SESSION_COOKIE not in answer.cookies
    assert (await client.get("/console/overview")).status_code == 303
    refused = [r for r in db["audit"].docs.values() if r["outcome"] == "refused"]
    assert len(refused) == (1 if key == TENANT_KEY else 0)


async def test_the_login_form_needs_its_owntoken_of(
    console: tuple[httpx.AsyncClient, FakeDb],
) -> None:
    client, _ = console
    answer = await client.post("/console/login", data={"api_key": OPERATOR_KEY, "csrf_token": "x"})
    assert answer.status_code == 403 and SESSION_COOKIE not in answer.cookies


async def test_pages_without_a_session_go_to_login_and_polls_redirect_the_page(
    console: tuple[httpx.AsyncClient, FakeDb],
) -> None:
    client, _ = console
    page = await client.get("/console/tasks", params={"status": "failed"})
    assert page.status_code == 303
    assert page.headers["location"] == "/console/login?next=%2Fconsole%2Ftasks%3Fstatus%3Dfailed"
    poll = await client.get("/console/tasks", headers={"HX-Request": "true"})
    # 401: the page's poller stops (console.js); htmx follows the redirect
    assert poll.status_code == 401
    assert poll.headers["HX-Redirect"] == "/console/login?next=%2Fconsole%2Ftasks"


async def test_a_revoked_key_ends_the_session(
    console: tuple[httpx.AsyncClient, FakeDb], api: FakeOperatorApi
) -> None:
    client, db = console
    await login(client, OPERATOR_KEY)
    api.revoked = True
    answer = await client.get("/console/overview")
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/console/login")
    assert db["console_sessions"].docs == {}


async def test_login_returns_to_the_page_asked_for_and_only_to_a_console_page(
    console: tuple[httpx.AsyncClient, FakeDb],
) -> None:
    client, _ = console
    form = await client.get("/console/login", params={"next": "/console/tasks/t-1"})
    assert 'name="next" value="/console/tasks/t-1"' in form.text
    answer = await client.post(
        "/console/login",
        data={
            "api_key": OPERATOR_KEY,
            "csrf_token": token_of(form.text),
            "next": "/console/tasks/t-1",
        },
    )
    assert answer.headers["location"] == "/console/tasks/t-1"
    hostile = (
        "https://evil.example/",
        "//evil.example/console/",
        "/\\evil.example",
        "/console/\\..\\x",
        "/console/\tx",
        "javascript:alert(1)",
        "/console/logout",
    )
    for target in hostile:
        client.cookies.clear()
        form = await client.get("/console/login", params={"next": target})
        assert 'name="next"' not in form.text, target
        again = await client.post(
            "/console/login",
            data={"api_key": OPERATOR_KEY, "csrf_token": token_of(form.text), "next": target},
        )
        assert again.headers["location"] == "/console/overview", target


async def test_a_login_ends_the_session_the_browser_came_with(
    console: tuple[httpx.AsyncClient, FakeDb],
) -> None:
    client, db = console
    await login(client, OPERATOR_KEY)
    planted = client.cookies[SESSION_COOKIE]
    client.cookies.clear()
    page = await client.get("/console/login")
    client.cookies.set(SESSION_COOKIE, planted, domain="testserver.local", path="/console")
    answer = await client.post(
        "/console/login", data={"api_key": OPERATOR_KEY, "csrf_token": token_of(page.text)}
    )
    assert answer.status_code == 303 and answer.cookies[SESSION_COOKIE] != planted
    assert len(db["console_sessions"].docs) == 1  # the planted one is gone
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, planted, domain="testserver.local", path="/console")
    assert (await client.get("/console/overview")).status_code == 303


async def test_failed_logins_are_throttled_per_client_and_audited_once(
    console: tuple[httpx.AsyncClient, FakeDb],
) -> None:
    client, db = console
    for _ in range(10):
        assert (await login(client, "tb_guess_" + "x")).status_code == 401
    throttled = await login(client, "tb_another_guess")
    assert throttled.status_code == 429 and "Too many failed logins" in throttled.text
    assert int(throttled.headers["retry-after"]) > 0
    # the right key waits too: the client address is closed for the window
    assert (await login(client, OPERATOR_KEY)).status_code == 429
    records = [r for r in db["audit"].docs.values() if r["details"].get("reason") == "throttled"]
    assert len(records) == 1 and records[0]["outcome"] == "refused"


async def test_logout_ends_the_session_and_is_audited(
    console: tuple[httpx.AsyncClient, FakeDb],
) -> None:
    client, db = console
    await login(client, OPERATOR_KEY)
    token = token_of((await client.get("/console/overview")).text)
    answer = await client.post("/console/logout", data={"csrf_token": token})
    assert answer.status_code == 303 and answer.headers["location"] == "/console/login"
    assert db["console_sessions"].docs == {}
    assert [r["action"] for r in db["audit"].docs.values()] == ["console.login", "console.logout"]

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
    page = await client.get("/console/tasks")
    assert page.status_code == 303 and page.headers["location"] == "/console/login"
    poll = await client.get("/console/tasks", headers={"HX-Request": "true"})
    assert poll.headers["HX-Redirect"] == "/console/login"


async def test_a_revoked_key_ends_the_session(
    console: tuple[httpx.AsyncClient, FakeDb], api: FakeOperatorApi
) -> None:
    client, db = console
    await login(client, OPERATOR_KEY)
    api.revoked = True
    answer = await client.get("/console/overview")
    assert answer.status_code == 303 and answer.headers["location"] == "/console/login"
    assert db["console_sessions"].docs == {}


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

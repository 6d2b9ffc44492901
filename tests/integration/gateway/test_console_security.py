"""The console on the real gateway (MongoDB sessions, the real key directory and operator
API), as an attacker would try it: a tenant's key gets no page and no action, a revoked
operator key ends its session, a session ends server-side (logout, expiry) whatever the
browser keeps, the cookie's flags, text that tenants and senders control is escaped,
and the answers are neither cached nor framed."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tradebus_contracts import TaskStatus
from tradebus_gateway.auth import digest
from tradebus_gateway.console.cookies import SESSION_COOKIE
from tradebus_gateway.console.settings import ConsoleSettings

from .conftest import KEY_ACME, KEY_OPERATOR, Gateway

pytestmark = pytest.mark.integration

PAGES = [
    "/console/overview",
    "/console/tasks",
    "/console/tasks/t-1",
    "/console/parking",
    "/console/parking/x.dlq",
    "/console/tenants",
    "/console/webhooks",
    "/console/topology",
    "/console/audit",
]
ACTIONS = [
    "/console/tasks/{task}/cancel",
    "/console/parking/x.dlq/replay",
    "/console/parking/x.dlq/purge",
    "/console/keys/{key}/revoke",
    "/console/logout",
]
HOSTILE = '<script>alert(1)</script><img src=x onerror="alert(2)">'


@asynccontextmanager
async def browser(gateway: Gateway) -> AsyncIterator[httpx.AsyncClient]:
    """A client like a browser on an HTTPS console: keeps cookies, follows nothing."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=gateway.app), base_url="https://gateway"
    ) as client:
        yield client


def token_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


async def log_in(client: httpx.AsyncClient, key: str) -> httpx.Response:
    form = await client.get("/console/login")
    return await client.post(
        "/console/login", data={"api_key": key, "csrf_token": token_of(form.text)}
    )


async def test_a_tenant_key_gets_no_console_page_and_no_action(
    make_gateway: Callable[..., Awaitable[Gateway]],
) -> None:
    gateway = await make_gateway()
    task, _ = await gateway.state.tasks.create(tenant_id="globex", kind="rag.ingest")
    async with browser(gateway) as client:
        refused = await log_in(client, KEY_ACME)
        assert refused.status_code == 403 and SESSION_COOKIE not in refused.cookies
        # the key as a bearer header, as a cookie, or no key: the login page, never data
        for as_header, as_cookie in ((True, False), (False, True), (False, False)):
            client.cookies.clear()
            if as_cookie:
                client.cookies.set(SESSION_COOKIE, KEY_ACME, domain="gateway.local")
            headers = {"Authorization": f"Bearer {KEY_ACME}"} if as_header else {}
            for page in PAGES:
                answer = await client.get(page, headers=headers)
                assert answer.status_code == 303, (page, answer.text)
                assert answer.headers["location"].startswith("/console/login")
                assert "globex" not in answer.text
            for action in ACTIONS:
                answer = await client.post(
                    action.format(task=task.id, key=digest(KEY_ACME)[:12]),
                    data={"all": "true", "confirm": "x.dlq", "csrf_token": "x"},
                    headers=headers,
                )
                assert answer.status_code == 303, (action, answer.text)
                assert answer.headers["location"].startswith("/console/login")
    still = await gateway.state.tasks.get("globex", task.id)
    assert still is not None and still.status is TaskStatus.QUEUED
    assert (await gateway.api.get("/v1/tasks")).status_code == 200  # the key was not revoked
    audit = (await gateway.operator.get("/v1/operator/audit", params={"limit": 200})).json()
    assert [(r["action"], r["outcome"]) for r in audit["items"]] == [("console.login", "refused")]


async def test_a_revoked_operator_key_ends_its_session(
    make_gateway: Callable[..., Awaitable[Gateway]],
) -> None:
    gateway = await make_gateway()
    made = (await gateway.operator.post("/v1/operator/keys", json={"label": "temp"})).json()
    async with browser(gateway) as client:
        assert (await log_in(client, made["api_key"])).status_code == 303
        assert (await client.get("/console/tenants")).status_code == 200
        revoked = await gateway.operator.post(f"/v1/operator/keys/{made['key_id']}/revoke")
        assert revoked.status_code == 200 and revoked.json()["revoked_at"]
        poll = await client.get("/console/tenants", headers={"HX-Request": "true"})
        assert poll.status_code == 401 and poll.headers["HX-Redirect"].startswith("/console/login")
        assert await gateway.state.db["console_sessions"].count_documents({}) == 0
        assert (await client.get("/console/tenants")).status_code == 303
        assert (await log_in(client, made["api_key"])).status_code == 401
    as_api = await gateway.operator.get(
        "/v1/operator/tenants", headers={"Authorization": f"Bearer {made['api_key']}"}
    )
    assert as_api.status_code == 401


async def test_a_key_is_revoked_from_the_tenants_page_with_the_session_token_only(
    make_gateway: Callable[..., Awaitable[Gateway]],
) -> None:
    gateway = await make_gateway()
    key_id = digest(KEY_ACME)[:12]
    async with browser(gateway) as client:
        await log_in(client, KEY_OPERATOR)
        page = await client.get("/console/tenants")
        assert f'action="/console/keys/{key_id}/revoke"' in page.text
        forged = await client.post(f"/console/keys/{key_id}/revoke", data={"csrf_token": "x"})
        assert forged.status_code == 403
        assert (await gateway.api.get("/v1/tasks")).status_code == 200
        done = await client.post(
            f"/console/keys/{key_id}/revoke", data={"csrf_token": token_of(page.text)}
        )
        assert done.status_code == 303 and done.headers["location"].startswith(
            "/console/tenants?notice=Key"
        )
        after = await client.get(done.headers["location"])
        assert f"Key {key_id} revoked." in after.text
        assert f'action="/console/keys/{key_id}/revoke"' not in after.text
    assert (await gateway.api.get("/v1/tasks")).status_code == 401
    [record] = (
        await gateway.operator.get("/v1/operator/audit", params={"action": "key.revoke"})
    ).json()["items"]
    assert (record["target"], record["outcome"]) == (key_id, "ok")


async def test_a_session_ends_on_the_server_at_logout_and_at_expiry(
    make_gateway: Callable[..., Awaitable[Gateway]],
) -> None:
    gateway = await make_gateway()
    sessions = gateway.state.db["console_sessions"]
    async with browser(gateway) as client:
        answer = await log_in(client, KEY_OPERATOR)
        cookie = next(
            c for c in answer.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE)
        )
        for flag in ("HttpOnly", "Secure", "SameSite=strict", "Path=/console", "Max-Age="):
            assert flag in cookie, cookie
        stolen = client.cookies[SESSION_COOKIE]
        page = await client.get("/console/overview")
        assert page.status_code == 200
        assert await client.post("/console/logout", data={"csrf_token": token_of(page.text)})
        assert await sessions.count_documents({}) == 0
        # the browser (or a thief) replays the old cookie: the server no longer knows it
        client.cookies.set(SESSION_COOKIE, stolen, domain="gateway.local", path="/console")
        assert (await client.get("/console/overview")).status_code == 303

        client.cookies.clear()
        assert (await log_in(client, KEY_OPERATOR)).status_code == 303
        past = datetime.now(UTC) - timedelta(seconds=1)
        await sessions.update_many({}, {"$set": {"expires_at": past}})
        expired = await client.get("/console/overview")
        assert expired.status_code == 303 and expired.headers["location"].startswith(
            "/console/login"
        )
        assert await sessions.count_documents({}) == 0
    audit = (await gateway.operator.get("/v1/operator/audit")).json()["items"]
    actions = [r["action"] for r in reversed(audit)]
    assert actions == ["console.login", "console.logout", "console.login"]


async def test_a_session_idle_too_long_ends_and_polling_does_not_keep_it_alive(
    make_gateway: Callable[..., Awaitable[Gateway]],
) -> None:
    gateway = await make_gateway()
    sessions = gateway.state.db["console_sessions"]
    idle = timedelta(seconds=ConsoleSettings().idle_seconds)
    poll = {"HX-Request": "true", "HX-Trigger": "live"}
    async with browser(gateway) as client:
        assert (await log_in(client, KEY_OPERATOR)).status_code == 303
        # Idle for most of the bound: a poll answers and leaves the idle time running...
        earlier = datetime.now(UTC) - idle + timedelta(minutes=2)
        await sessions.update_many({}, {"$set": {"active_at": earlier}})
        assert (await client.get("/console/tasks", headers=poll)).status_code == 200
        (doc,) = await sessions.find({}).to_list()
        assert doc["active_at"].replace(tzinfo=UTC) < datetime.now(UTC) - idle / 2
        # ...while the operator's own request starts it anew.
        assert (await client.get("/console/tasks")).status_code == 200
        (doc,) = await sessions.find({}).to_list()
        assert doc["active_at"].replace(tzinfo=UTC) > datetime.now(UTC) - timedelta(minutes=1)
        # Past the bound, the next poll is told the session has ended, and it is gone.
        await sessions.update_many({}, {"$set": {"active_at": datetime.now(UTC) - idle}})
        ended = await client.get("/console/tasks", headers=poll)
        assert ended.status_code == 401 and ended.headers["HX-Redirect"].startswith(
            "/console/login"
        )
        assert await sessions.count_documents({}) == 0


async def test_what_tenants_and_senders_wrote_is_shown_escaped(
    make_gateway: Callable[..., Awaitable[Gateway]],
) -> None:
    gateway = await make_gateway()
    created = await gateway.operator.post(
        "/v1/operator/tenants", json={"id": "evil", "name": HOSTILE}
    )
    assert created.status_code == 201, created.text
    repo = gateway.state.tasks
    task, _ = await repo.create(tenant_id="evil", kind=HOSTILE[:60])
    await repo.transition("evil", task.id, TaskStatus.RUNNING)
    error = {"code": "boom", "message": HOSTILE}
    failed = await repo.transition("evil", task.id, TaskStatus.FAILED, error=error)
    assert failed is not None
    async with browser(gateway) as client:
        await log_in(client, KEY_OPERATOR)
        for page in ("/console/tenants", f"/console/tasks/{task.id}", "/console/tasks"):
            answer = await client.get(page)
            assert answer.status_code == 200, (page, answer.text)
            assert "<script>alert" not in answer.text and "<img src=x" not in answer.text
            assert "&lt;script&gt;alert(1)&lt;/script&gt;" in answer.text, page
            assert "script-src 'self'" in answer.headers["content-security-policy"]
            assert "unsafe-inline" not in answer.headers["content-security-policy"]
            assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
            assert answer.headers["cache-control"] == "no-store"


async def test_operator_answers_are_not_stored_by_caches(
    make_gateway: Callable[..., Awaitable[Gateway]],
) -> None:
    gateway = await make_gateway()
    made = await gateway.operator.post("/v1/operator/keys", json={"label": "shown once"})
    assert made.status_code == 201 and made.headers["cache-control"] == "no-store"
    listed = await gateway.operator.get("/v1/operator/tenants")
    assert listed.headers["cache-control"] == "no-store"


async def test_failed_logins_are_throttled_across_the_stored_window(
    make_gateway: Callable[..., Awaitable[Gateway]],
) -> None:
    gateway = await make_gateway()
    async with browser(gateway) as client:
        for i in range(10):  # TRADEBUS_CONSOLE_LOGIN_MAX_FAILURES
            assert (await log_in(client, f"tb_guess_{i}")).status_code == 401
        throttled = await log_in(client, KEY_OPERATOR)
        assert throttled.status_code == 429 and SESSION_COOKIE not in throttled.cookies
        assert int(throttled.headers["retry-after"]) > 0
    failures = gateway.state.db["console_login_failures"]
    [by_client] = await failures.find({"_id": {"$regex": "^client:"}}).to_list()
    assert by_client["failures"] == 10
    # the window ends (the TTL index removes it; reads check the end): logins work again
    await failures.update_many({}, {"$set": {"expires_at": datetime.now(UTC)}})
    async with browser(gateway) as client:
        assert (await log_in(client, KEY_OPERATOR)).status_code == 303
    [record] = (
        await gateway.operator.get("/v1/operator/audit", params={"action": "console.login"})
    ).json()["items"][-1:]
    assert record["details"]["reason"] == "throttled"

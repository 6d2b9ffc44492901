"""Login and logout of the operator console.

Login proves the key against the API itself (`GET /v1/operator/overview`): an operator
key opens a session, a tenant key or an unknown one does not. The login form has its own
CSRF token (double submit: cookie and field), as no session exists yet. Failed logins
are throttled per client address and per key (`throttle.py`); a login always makes a new
session id and ends the one the browser came with (no session fixation)."""

from __future__ import annotations

import hmac
import math
import secrets
from urllib.parse import urlencode

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ..auth import digest
from . import audit
from .client import ApiProblem, OperatorClient
from .cookies import LOGIN_COOKIE, SESSION_COOKIE, clear_cookie, set_cookie
from .deps import CheckedForm, CurrentSession, State, session_store
from .paths import console_path
from .throttle import Subjects

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/console", include_in_schema=False)

HOME = "/console/overview"
KEY_ID_LENGTH = 12
REFUSALS = {
    401: "Unknown or revoked key.",
    403: "A tenant key cannot open the console: use an operator key.",
}


@router.get("")
@router.get("/")
async def home() -> RedirectResponse:
    return RedirectResponse(HOME, status_code=303)


@router.get("/login")
async def login_page(request: Request, state: State) -> Response:
    after = console_path(request.query_params.get("next")) or HOME
    store = session_store(request, state)
    if await store.get(request.cookies.get(SESSION_COOKIE)) is not None:
        return RedirectResponse(after, status_code=303)
    return _login_form(request, state, error=None, status_code=200, after=after)


@router.post("/login")
async def login(request: Request, state: State) -> Response:
    form = await request.form()
    api_key, token = str(form.get("api_key", "")).strip(), str(form.get("csrf_token", ""))
    after = console_path(str(form.get("next") or "")) or HOME
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not hmac.compare_digest(token.encode(), expected.encode()):
        return _login_form(
            request, state, error="The form expired: try again.", status_code=403, after=after
        )
    if not api_key:
        return _login_form(
            request, state, error="Paste an operator key.", status_code=422, after=after
        )
    throttle = state.throttle(request.app.state.gateway.db)
    subjects = Subjects(_client(request), digest(api_key)[:KEY_ID_LENGTH])
    wait = await throttle.wait_seconds(subjects)
    if wait > 0:
        log.info("console.login_throttled", client=subjects.client, key_id=subjects.key_id)
        minutes = max(1, math.ceil(wait / 60))
        response = _login_form(
            request,
            state,
            error=f"Too many failed logins: try again in {minutes} minute(s).",
            status_code=429,
            after=after,
        )
        response.headers["Retry-After"] = str(max(1, math.ceil(wait)))
        return response
    try:
        async with OperatorClient(request.app, api_key) as api:
            await api.get("/v1/operator/overview")
    except ApiProblem as problem:
        if problem.status in REFUSALS and await throttle.failed(subjects):
            db = request.app.state.gateway.db
            await audit.record(
                db,
                key_id=subjects.key_id,
                label="",
                action="console.login",
                outcome="refused",
                details={"reason": "throttled", "client": subjects.client},
            )
        return await _refused(request, state, api_key, problem, after=after)
    store = session_store(request, state)
    previous = request.cookies.get(SESSION_COOKIE)
    if previous:  # whatever id the browser brought, it is not the one it leaves with
        await store.delete(previous)
    key_id, label = await _identity(request, api_key)
    session = await store.create(api_key, key_id=key_id, label=label)
    db = request.app.state.gateway.db
    await audit.record(db, key_id=key_id, label=label, action="console.login")
    response = RedirectResponse(after, status_code=303)
    set_cookie(
        response,
        SESSION_COOKIE,
        session.session_id,
        max_age=state.settings.session_seconds,
        settings=state.settings,
    )
    clear_cookie(response, LOGIN_COOKIE, state.settings)
    return response


@router.post("/logout")
async def logout(
    request: Request, state: State, session: CurrentSession, _: CheckedForm
) -> Response:
    await session_store(request, state).delete(session.session_id)
    db = request.app.state.gateway.db
    await audit.record(db, key_id=session.key_id, label=session.label, action="console.logout")
    response = RedirectResponse("/console/login", status_code=303)
    clear_cookie(response, SESSION_COOKIE, state.settings)
    return response


def login_url(request: Request) -> str:
    """The login page, coming back to this page afterwards (a plain page view only)."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method != "GET" or console_path(here) is None:
        return "/console/login"
    return "/console/login?" + urlencode({"next": here})


async def _refused(
    request: Request, state: State, api_key: str, problem: ApiProblem, *, after: str
) -> Response:
    message = REFUSALS.get(problem.status, f"The operator API answered {problem.status}.")
    if problem.status == 403:
        # A known key, wrong role: worth an audit line. Unknown keys are only logged,
        # so guessing cannot flood the audit log.
        key_id, label = await _identity(request, api_key)
        db = request.app.state.gateway.db
        await audit.record(
            db,
            key_id=key_id,
            label=label,
            action="console.login",
            outcome="refused",
            details={"reason": problem.code},
        )
    log.info("console.login_refused", status=problem.status, code=problem.code)
    status = problem.status if problem.status in REFUSALS else 502
    return _login_form(request, state, error=message, status_code=status, after=after)


async def _identity(request: Request, api_key: str) -> tuple[str, str]:
    """The key's id (its digest, as the API's audit records name actors) and label, from
    the gateway's key directory (in memory: the API call just resolved the key)."""
    principal = await request.app.state.gateway.directory.resolve(api_key)
    if principal is None:
        return digest(api_key), ""
    return principal.key_id, str(getattr(principal, "label", "") or "")


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _login_form(
    request: Request, state: State, *, error: str | None, status_code: int, after: str
) -> Response:
    token = secrets.token_urlsafe(32)
    response = state.renderer.page(
        request,
        "login.html",
        status_code=status_code,
        error=error,
        csrf_token=token,
        after=after if after != HOME else "",
    )
    set_cookie(response, LOGIN_COOKIE, token, max_age=3600, settings=state.settings)
    return response

"""Login and logout of the operator console.

Login proves the key against the API itself (`GET /v1/operator/overview`): an operator
key opens a session, a tenant key or an unknown one does not. The login form has its own
CSRF token (double submit: cookie and field), as no session exists yet."""

from __future__ import annotations

import hmac
import secrets

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ..auth import digest
from . import audit
from .client import ApiProblem, OperatorClient
from .deps import SESSION_COOKIE, CheckedForm, CurrentSession, State, session_store

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/console", include_in_schema=False)

LOGIN_COOKIE = "tradebus_console_login"
REFUSALS = {
    401: "Unknown or revoked key.",
    403: "A tenant key cannot open the console: use an operator key.",
}


@router.get("")
@router.get("/")
async def home() -> RedirectResponse:
    return RedirectResponse("/console/overview", status_code=303)


@router.get("/login")
async def login_page(request: Request, state: State) -> Response:
    store = session_store(request, state)
    if await store.get(request.cookies.get(SESSION_COOKIE)) is not None:
        return RedirectResponse("/console/overview", status_code=303)
    return _login_form(request, state, error=None, status_code=200)


@router.post("/login")
async def login(request: Request, state: State) -> Response:
    form = await request.form()
    api_key, token = str(form.get("api_key", "")).strip(), str(form.get("csrf_token", ""))
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not hmac.compare_digest(token.encode(), expected.encode()):
        return _login_form(request, state, error="The form expired: try again.", status_code=403)
    if not api_key:
        return _login_form(request, state, error="Paste an operator key.", status_code=422)
    try:
        async with OperatorClient(request.app, api_key) as api:
            await api.get("/v1/operator/overview")
    except ApiProblem as problem:
        return await _refused(request, state, api_key, problem)
    key_id, label = await _identity(request, api_key)
    session = await session_store(request, state).create(api_key, key_id=key_id, label=label)
    db = request.app.state.gateway.db
    await audit.record(db, key_id=key_id, label=label, action="console.login")
    response = RedirectResponse("/console/overview", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        session.session_id,
        max_age=state.settings.session_seconds,
        path="/console",
        httponly=True,
        samesite="strict",
        secure=state.settings.cookie_secure,
    )
    response.delete_cookie(LOGIN_COOKIE, path="/console")
    return response


@router.post("/logout")
async def logout(
    request: Request, state: State, session: CurrentSession, _: CheckedForm
) -> Response:
    await session_store(request, state).delete(session.session_id)
    db = request.app.state.gateway.db
    await audit.record(db, key_id=session.key_id, label=session.label, action="console.logout")
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/console")
    return response


async def _refused(request: Request, state: State, api_key: str, problem: ApiProblem) -> Response:
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
    return _login_form(request, state, error=message, status_code=status)


async def _identity(request: Request, api_key: str) -> tuple[str, str]:
    """The key's id (its digest, as the API's audit records name actors) and label, from
    the gateway's key directory (in memory: the API call just resolved the key)."""
    principal = await request.app.state.gateway.directory.resolve(api_key)
    if principal is None:
        return digest(api_key), ""
    return principal.key_id, str(getattr(principal, "label", "") or "")


def _login_form(request: Request, state: State, *, error: str | None, status_code: int) -> Response:
    token = secrets.token_urlsafe(32)
    response = state.renderer.page(
        request, "login.html", status_code=status_code, error=error, csrf_token=token
    )
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        max_age=3600,
        path="/console",
        httponly=True,
        samesite="strict",
        secure=state.settings.cookie_secure,
    )
    return response

"""Request dependencies of the console: its state, the caller's session, an API client
holding the session's key, and a POST form whose CSRF token has been checked."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Depends, Request
from pymongo.asynchronous.database import AsyncDatabase
from starlette.datastructures import FormData

from .client import OperatorClient
from .cookies import SESSION_COOKIE
from .rendering import Renderer
from .session import Session, SessionStore
from .settings import ConsoleSettings
from .throttle import LoginThrottle

__all__ = ["SESSION_COOKIE"]  # re-exported: where the console's dependencies read it

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


class LoginRequired(Exception):
    """No session, an expired one, or a key the API no longer accepts."""


class CsrfRefused(Exception):
    """A POST without the session's CSRF token."""


@dataclass
class ConsoleState:
    settings: ConsoleSettings
    renderer: Renderer
    _store: SessionStore | None = field(default=None, repr=False)
    _throttle: LoginThrottle | None = field(default=None, repr=False)

    def sessions(self, db: AsyncDatabase[Any]) -> SessionStore:
        # The database exists only once the gateway's lifespan has started.
        if self._store is None:
            lifetime = timedelta(seconds=self.settings.session_seconds)
            idle = timedelta(seconds=self.settings.idle_seconds)
            self._store = SessionStore(db, lifetime=lifetime, idle=idle)
        return self._store

    def throttle(self, db: AsyncDatabase[Any]) -> LoginThrottle:
        if self._throttle is None:
            self._throttle = LoginThrottle(
                db,
                max_failures=self.settings.login_max_failures,
                window=timedelta(seconds=self.settings.login_window_seconds),
            )
        return self._throttle


async def console_state(request: Request) -> ConsoleState:
    state: ConsoleState = request.app.state.console
    return state


State = Annotated[ConsoleState, Depends(console_state)]


def session_store(request: Request, state: ConsoleState) -> SessionStore:
    return state.sessions(request.app.state.gateway.db)


def _is_poll(request: Request) -> bool:
    # htmx names the element that triggered a request: `#live` is the pages' polling.
    return request.headers.get("HX-Trigger") == "live"


async def current_session(request: Request, state: State) -> Session:
    session = await session_store(request, state).get(
        request.cookies.get(SESSION_COOKIE), activity=not _is_poll(request)
    )
    if session is None:
        raise LoginRequired
    return session


CurrentSession = Annotated[Session, Depends(current_session)]


async def operator_api(request: Request, session: CurrentSession) -> AsyncIterator[OperatorClient]:
    async with OperatorClient(request.app, session.api_key) as client:
        yield client


Api = Annotated[OperatorClient, Depends(operator_api)]


async def checked_form(request: Request, session: CurrentSession) -> FormData:
    form = await request.form()
    token = request.headers.get(CSRF_HEADER) or form.get(CSRF_FIELD)
    if not session.csrf_ok(token if isinstance(token, str) else None):
        raise CsrfRefused
    return form


CheckedForm = Annotated[FormData, Depends(checked_form)]

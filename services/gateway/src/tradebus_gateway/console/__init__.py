"""The operator console: server-rendered pages under /console over the operator API.

`install(app, settings)` adds its routes (outside the OpenAPI document), its static files
(htmx and the stylesheet, both local) and the security headers of its answers."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from . import actions, pages, routes
from .client import ApiProblem
from .cookies import SESSION_COOKIE, clear_cookie
from .deps import ConsoleState, CsrfRefused, LoginRequired, session_store
from .rendering import Renderer, build_environment
from .security import ConsoleHeaders
from .settings import ConsoleSettings

__all__ = ["ConsoleSettings", "install"]


def install(app: FastAPI, settings: ConsoleSettings) -> None:
    renderer = Renderer(build_environment(), poll_seconds=settings.poll_seconds)
    app.state.console = ConsoleState(settings=settings, renderer=renderer)
    app.add_middleware(ConsoleHeaders)
    static = Path(str(resources.files(__package__).joinpath("static")))
    app.mount("/console/static", StaticFiles(directory=static), name="console-static")
    for router in (routes.router, pages.router, actions.router):
        app.include_router(router)

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, _: LoginRequired) -> Response:
        return _to_login(request, settings)

    @app.exception_handler(CsrfRefused)
    async def csrf_refused(request: Request, _: CsrfRefused) -> Response:
        return renderer.page(
            request,
            "error.html",
            status_code=403,
            status=403,
            message="The form's token did not match your session: reload the page and retry.",
        )

    @app.exception_handler(ApiProblem)
    async def api_problem(request: Request, problem: ApiProblem) -> Response:
        if problem.status == 401:
            # The key stopped working (revoked): the session ends with it.
            store = session_store(request, app.state.console)
            session_id = request.cookies.get(SESSION_COOKIE)
            if session_id:
                await store.delete(session_id)
            return _to_login(request, settings)
        status = problem.status if 400 <= problem.status < 500 else 502
        return renderer.page(
            request,
            "error.html",
            status_code=status,
            status=problem.status,
            message=f"{problem.code}: {problem.message}",
        )


def _to_login(request: Request, settings: ConsoleSettings) -> Response:
    if request.headers.get("HX-Request"):
        # A poll: 401 (the session ended, so polling stops: console.js) and htmx
        # navigates the whole page to the login, not just the fragment.
        response: Response = HTMLResponse(
            "", status_code=401, headers={"HX-Redirect": routes.login_url(request)}
        )
    else:
        response = RedirectResponse(routes.login_url(request), status_code=303)
    clear_cookie(response, SESSION_COOKIE, settings)
    return response

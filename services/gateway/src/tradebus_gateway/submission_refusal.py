"""Ingest submissions refused in front of FastAPI. The routes that take work into the
batch path (`POST /v1/rag/documents`, `/v1/rag/batches`) judge the backlog first
(`admission_gate.ADMITTED`, from memory); when that refuses a tenant key the directory
holds, the 429 is answered here, by the same `admit`, without FastAPI's routing and
dependency solving and before the body is read. Refused clients retrying at once are
what overload looks like, so their answers should cost the least they can. Anything
else, admitted or not judged here (no key, an unknown or operator key), goes on to the
route, whose first dependency judges it again the same way."""

from __future__ import annotations

from collections.abc import Iterable

from fastapi.routing import APIRoute
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from .admission_gate import ADMITTED
from .asgi_headers import bearer_key, first_headers
from .errors import ApiError, error_response
from .state import GatewayState

_AUTHORIZATION = frozenset({b"authorization"})


class SubmissionRefusal:
    def __init__(self, app: ASGIApp, *, routes: Iterable[BaseRoute]) -> None:
        """`routes`: the routes to look at; those whose dependencies admit are judged."""
        self.app = app
        self._routes = {
            r.path: r
            for r in routes
            if isinstance(r, APIRoute)
            and "POST" in (r.methods or ())
            and ADMITTED in r.dependencies
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = None
        if scope["type"] == "http" and scope["method"] == "POST" and not scope.get("root_path"):
            route = self._routes.get(scope["path"])
        refusal = _refusal(scope) if route is not None else None
        if refusal is None:
            await self.app(scope, receive, send)
            return
        scope["route"] = route  # the request metrics label by it
        await error_response(refusal)(scope, receive, send)


def _refusal(scope: Scope) -> ApiError | None:
    state: GatewayState | None = getattr(scope["app"].state, "gateway", None)
    if state is None:
        return None
    key = bearer_key(first_headers(scope["headers"], _AUTHORIZATION).get(b"authorization"))
    principal = state.directory.cached(key) if key is not None else None
    if principal is None or principal.operator:
        return None
    try:
        state.admission.admit(principal.tenant_id)
    except ApiError as refused:
        return refused
    return None

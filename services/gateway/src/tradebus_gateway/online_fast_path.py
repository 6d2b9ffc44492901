"""The online routes' fast path: a plain ASGI layer in front of FastAPI that answers the
common case of `POST /v1/dealbrain/ask`, `/v1/shadowhunter/hunt` and `/v1/nexus/assess`
itself, and hands every other request to FastAPI.

A person waits on these routes, and FastAPI's own request handling (routing, the request
object, dependency solving, the exception middleware) was the largest part of what the
gateway added on top of an HTTP and an RPC round trip (bench/README.md, bench-online).
The common case is narrow enough to take directly: a JSON body that validates, a bearer
key the directory knows without waiting, well-formed headers. Anything else (no key, an
unknown or operator key, another content type, a body that does not parse or validate,
a malformed `X-Request-Timeout`) goes to the FastAPI route with the body already read,
so every refusal is FastAPI's own, word for word. Both paths answer through the same
`OnlineRoute.answer`; what the call itself refuses (429, 503, 504) is rendered by the
same error body as the FastAPI handler's.

Every POST under the online routes' prefixes (the session messages too) has its body
read here, at most `MAX_BODY_BYTES`: a larger one is a `413 too_large`, before the key
is looked at and without reading the rest."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .api.online_answer import OnlineRoute
from .asgi_headers import bearer_key, first_headers
from .deps import TIMEOUT_PATTERN, call_context
from .errors import ApiError, error_response
from .online import CallContext
from .state import GatewayState

# An online call's body, at most: far above any valid one (a question is at most 4,000
# characters), and read no further, so a client cannot make the gateway hold more.
MAX_BODY_BYTES = 64 * 1024
TIMEOUT_MAX_LENGTH = 32  # as the FastAPI route's header declares
_TIMEOUT = re.compile(TIMEOUT_PATTERN)
_HEADERS = frozenset(
    {b"authorization", b"content-type", b"x-request-timeout", b"x-correlation-id", b"traceparent"}
)

Prepared = tuple[str, CallContext, BaseModel]  # tenant id, the call's context, the body


class OnlineFastPath:
    def __init__(
        self,
        app: ASGIApp,
        *,
        routes: Mapping[str, OnlineRoute[Any]],
        declared: Iterable[BaseRoute],
        prefixes: tuple[str, ...],
    ) -> None:
        """`routes` by path; `declared`: the FastAPI routes that document them;
        `prefixes`: the paths under which every POST is an online call (body limit)."""
        self.app = app
        self._routes = dict(routes)
        self._prefixes = prefixes
        posts = {
            r.path: r for r in declared if isinstance(r, APIRoute) and "POST" in (r.methods or ())
        }
        missing = set(self._routes) - set(posts)
        if missing:
            raise ValueError(f"no FastAPI route declares {sorted(missing)}")
        self._declared = {path: posts[path] for path in self._routes}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or scope.get("root_path")
            or not scope["path"].startswith(self._prefixes)
        ):
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        body, complete = await _read(receive) if declared <= MAX_BODY_BYTES else (b"", False)
        if declared > MAX_BODY_BYTES or len(body) > MAX_BODY_BYTES:
            await error_response(_too_large())(scope, receive, send)
            return
        replay = _replaying(body, complete, receive)
        route = self._routes.get(scope["path"])
        state: GatewayState | None = getattr(scope["app"].state, "gateway", None)
        prepared = _prepare(route, state, scope, body) if route and complete and state else None
        if prepared is None or route is None or state is None:
            await self.app(scope, replay, send)  # FastAPI answers it, whatever it is
            return
        # The matched route, as FastAPI leaves it: the request metrics label by it.
        scope["route"] = self._declared[scope["path"]]
        tenant_id, context, parsed = prepared
        try:
            response = await route.answer(state, tenant_id, context, parsed)
        except ApiError as exc:
            response = error_response(exc)
        await response(scope, replay, send)


def _too_large() -> ApiError:
    return ApiError(413, "too_large", f"request body exceeds {MAX_BODY_BYTES} bytes")


def _declared_length(scope: Scope) -> int:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else 0  # uvicorn refuses a malformed one
    return 0


def _prepare(
    route: OnlineRoute[Any], state: GatewayState, scope: Scope, body: bytes
) -> Prepared | None:
    """The call's tenant, context and body, or None when FastAPI must answer."""
    headers = first_headers(scope["headers"], _HEADERS)
    key = bearer_key(headers.get(b"authorization"))
    if key is None:
        return None
    principal = state.directory.cached(key)
    if principal is None or principal.operator:
        return None
    content_type = headers.get(b"content-type", "")
    if not body or content_type.partition(";")[0].strip().lower() != "application/json":
        return None
    timeout = headers.get(b"x-request-timeout")
    if timeout is not None and (len(timeout) > TIMEOUT_MAX_LENGTH or not _TIMEOUT.match(timeout)):
        return None
    try:
        # As FastAPI reads a JSON body: the standard library's parser, then the model.
        parsed = route.body.model_validate(json.loads(body))
    except ValueError:  # undecodable bytes, bad JSON and validation errors alike
        return None
    context = call_context(
        state.settings, timeout, headers.get(b"x-correlation-id"), headers.get(b"traceparent")
    )
    return principal.tenant_id, context, parsed


async def _read(receive: Receive) -> tuple[bytes, bool]:
    """The body, and whether it is whole (not over the cap, no disconnect)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), False
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), True
        if size > MAX_BODY_BYTES:
            return b"".join(chunks), False


def _replaying(body: bytes, complete: bool, receive: Receive) -> Receive:
    """A `receive` that gives what was read first, then the rest from the client."""
    pending = True

    async def replay() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": not complete}
        return await receive()

    return replay

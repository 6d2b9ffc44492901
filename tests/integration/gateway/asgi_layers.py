"""The gateway's ASGI layers in tests: one found in the built stack, the app rebuilt
without one, and a counter of what a layer hands on."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send


class Delegations:
    """Counts the HTTP requests a layer hands on to the app behind it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app, self.count = app, 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.count += 1
        await self.app(scope, receive, send)


def layer_of(app: FastAPI, cls: type) -> Any:
    """The instance of `cls` in the app's built middleware stack."""
    layer: Any = app.middleware_stack
    while not isinstance(layer, cls):
        layer = layer.app
    return layer


def counting(app: FastAPI, cls: type) -> Delegations:
    """Count what the `cls` layer hands on, from now."""
    layer = layer_of(app, cls)
    seen = layer.app = Delegations(layer.app)
    return seen


def without(app: FastAPI, cls: type) -> ASGIApp:
    """The same app (state, routes, handlers) with its middleware stack built again
    without the `cls` layer."""
    kept = app.user_middleware
    app.user_middleware = [m for m in kept if m.cls is not cls]
    try:
        stack = app.build_middleware_stack()
    finally:
        app.user_middleware = kept

    async def asgi(scope: Scope, receive: Receive, send: Send) -> None:
        scope["app"] = app
        await stack(scope, receive, send)

    return asgi

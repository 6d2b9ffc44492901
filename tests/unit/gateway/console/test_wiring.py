"""The gateway app serves the console, and keeps it out of its public OpenAPI document
(so the API fuzz test never sees it)."""

from __future__ import annotations

import httpx

from tradebus_gateway.app import create_app
from tradebus_gateway.console import ConsoleSettings
from tradebus_gateway.settings import GatewaySettings


async def test_the_console_is_served_but_not_documented() -> None:
    app = create_app(GatewaySettings(), console_settings=ConsoleSettings(poll_seconds=5))
    transport = httpx.ASGITransport(app=app)  # no lifespan: routes that need no state
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        home = await client.get("/console")
        assert home.status_code == 303 and home.headers["location"] == "/console/overview"
        htmx = await client.get("/console/static/htmx.min.js")
        assert htmx.status_code == 200 and "0BSD" in htmx.text[:300]
        assert htmx.headers["x-frame-options"] == "DENY"
    assert not [p for p in app.openapi()["paths"] if p.startswith("/console")]
    assert app.state.console.settings.poll_seconds == 5


def test_the_session_cookie_is_secure_unless_configured_otherwise() -> None:
    assert ConsoleSettings().cookie_secure is True
    assert ConsoleSettings().session_seconds == 8 * 3600

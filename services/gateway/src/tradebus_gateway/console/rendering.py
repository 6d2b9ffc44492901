"""Jinja2 for the console: every value auto-escaped (message bodies, headers and error
texts are whatever a sender put there), a few filters for times and JSON, and the rule
that a polled fragment renders alone while a page renders it inside the layout."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, Undefined

from tradebus_storage import TERMINAL

from .notices import verified

TERMINAL_STATUSES = frozenset(status.value for status in TERMINAL)


def _missing(value: object) -> bool:
    """None, or a field the API did not send (the page shows `-` rather than failing)."""
    return value is None or isinstance(value, Undefined)


def duration(seconds: float | int | None) -> str:
    """`95` -> `1m 35s`; None (nothing waiting) -> `-`."""
    if _missing(seconds):
        return "-"
    total = int(seconds)  # type: ignore[arg-type]
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")]
    shown = [f"{n}{unit}" for n, unit in parts if n][:2]
    return " ".join(shown) or "0s"


def when(value: str | None) -> str:
    """An ISO time from the API, shortened to the second (UTC as the API answers it)."""
    if _missing(value) or not value:
        return "-"
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value)
    return parsed.strftime("%Y-%m-%d %H:%M:%S")


def short(value: str | None, keep: int = 12) -> str:
    """A long id cut for a table cell (the whole id stays in the link and its title)."""
    text = str(value or "")
    return text if len(text) <= keep + 1 else text[:keep] + "…"


def pretty(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


def rate(value: float | int | None) -> str:
    return "-" if _missing(value) else f"{float(value):.1f}/s"  # type: ignore[arg-type]


def build_environment() -> Environment:
    env = Environment(
        loader=PackageLoader("tradebus_gateway.console", "templates"),
        autoescape=True,  # always, whatever the template's name
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(duration=duration, when=when, pretty=pretty, rate=rate, short=short)
    env.globals["terminal_statuses"] = TERMINAL_STATUSES
    return env


class Renderer:
    def __init__(self, env: Environment, *, poll_seconds: int) -> None:
        self._env, self._poll = env, poll_seconds

    def text(self, template: str, **context: Any) -> str:
        return self._env.get_template(template).render(poll=self._poll, **context)

    def page(
        self,
        request: Request,
        template: str,
        *,
        status_code: int = 200,
        **context: Any,
    ) -> HTMLResponse:
        """`template` is a page extending the layout; its live part is `_<template>`,
        which alone answers htmx's polls (the `HX-Request` header)."""
        live_url = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        name = f"_{template}" if request.headers.get("HX-Request") else template
        session = context.get("session")
        # Only a notice this session's action signed is shown (notices.py).
        notice = verified(session.csrf_token, request.query_params) if session else None
        body = self.text(name, request=request, live_url=live_url, notice=notice, **context)
        return HTMLResponse(body, status_code=status_code)

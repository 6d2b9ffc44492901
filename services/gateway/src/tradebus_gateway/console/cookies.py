"""The console's cookies, set and cleared with the same flags (a browser keeps a
`Secure` cookie that an answer without the flag tries to clear)."""

from __future__ import annotations

from starlette.responses import Response

from .settings import ConsoleSettings

SESSION_COOKIE = "tradebus_console"
LOGIN_COOKIE = "tradebus_console_login"
PATH = "/console"


def set_cookie(
    response: Response, name: str, value: str, *, max_age: int, settings: ConsoleSettings
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=PATH,
        httponly=True,
        samesite="strict",
        secure=settings.cookie_secure,
    )


def clear_cookie(response: Response, name: str, settings: ConsoleSettings) -> None:
    response.delete_cookie(
        name, path=PATH, httponly=True, samesite="strict", secure=settings.cookie_secure
    )

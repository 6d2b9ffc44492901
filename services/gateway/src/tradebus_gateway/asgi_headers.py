"""Reading a request's headers from the ASGI scope as Starlette and FastAPI read them (the
first of a repeated header, latin-1), for the layers that answer before FastAPI."""

from __future__ import annotations

from collections.abc import Iterable

from fastapi.security.utils import get_authorization_scheme_param


def first_headers(raw: Iterable[tuple[bytes, bytes]], names: frozenset[bytes]) -> dict[bytes, str]:
    """The first value of each of `names` (lowercase, as ASGI servers send them)."""
    found: dict[bytes, str] = {}
    for name, value in raw:
        if name in names and name not in found:
            found[name] = value.decode("latin-1")
    return found


def bearer_key(authorization: str | None) -> str | None:
    """The key of `Authorization: Bearer <key>`, as `HTTPBearer` reads it, else None."""
    scheme, key = get_authorization_scheme_param(authorization)
    if not key or scheme.lower() != "bearer":
        return None
    return key

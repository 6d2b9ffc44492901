"""What every HTTP provider does with a response: classify the status, parse the body."""

from __future__ import annotations

from typing import Any

import httpx

from .errors import MalformedResponse


def bearer(api_key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


def json_body(response: httpx.Response, downstream: str) -> Any:
    """The decoded body of a successful response. A 429/5xx raises `HTTPStatusError`
    here so `Downstream` classifies it; an undecodable body is `MalformedResponse`."""
    response.raise_for_status()
    try:
        return response.json()
    except ValueError as exc:
        raise MalformedResponse(downstream, f"body is not JSON: {response.text[:120]!r}") from exc


def malformed(downstream: str, what: str, body: Any) -> MalformedResponse:
    return MalformedResponse(downstream, f"{what}; got {str(body)[:160]}")

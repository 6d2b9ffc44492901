"""What every HTTP provider does with a response: classify the status, parse the body."""

from __future__ import annotations

from typing import Any

import httpx

from tradebus_resilience import Downstream

from .errors import MalformedResponse


class HttpProvider:
    """An API reached over the downstream's own httpx client (its timeouts, a pool no
    larger than its concurrency budget), closed with `aclose`."""

    def __init__(
        self,
        downstream: Downstream,
        *,
        base_url: str,
        api_key: str | None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.downstream = downstream
        self._client = downstream.http_client(
            base_url, headers=bearer(api_key), transport=transport
        )

    async def aclose(self) -> None:
        await self._client.aclose()


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

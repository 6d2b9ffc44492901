"""The console's client of the operator API, called in-process.

Every page shows what the HTTP API answers to the session's key, nothing more: requests go
through the gateway app itself (an ASGI transport, no socket), with the same auth,
validation and audit as a script's."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

import httpx
from starlette.types import ASGIApp

Params = Mapping[str, str | int | Sequence[str]]

# Generous: an in-process call waits only for the route itself (MongoDB, the management API).
TIMEOUT_SECONDS = 15.0


class ApiProblem(Exception):
    """A non-2xx answer of the operator API, with its error code and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message

    @classmethod
    def of(cls, response: httpx.Response) -> ApiProblem:
        try:
            body = response.json()
        except ValueError:
            body = None
        error = body.get("error", body) if isinstance(body, dict) else None
        if isinstance(error, dict):
            return cls(
                response.status_code,
                str(error.get("code", "error")),
                str(error.get("message", "")),
            )
        return cls(response.status_code, "error", response.reason_phrase)


def segment(value: str) -> str:
    """One path segment, whatever it contains (a parking lot's dots, a task id)."""
    return quote(value, safe="")


class OperatorClient:
    def __init__(self, app: ASGIApp, api_key: str) -> None:
        self._client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://console.internal",
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=TIMEOUT_SECONDS,
        )

    async def __aenter__(self) -> OperatorClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._client.aclose()

    async def get(self, path: str, params: Params | None = None) -> Any:
        clean = {k: v for k, v in (params or {}).items() if v not in ("", None)}
        return self._answer(await self._client.get(path, params=clean))

    async def post(self, path: str, body: Mapping[str, Any] | None = None) -> Any:
        return self._answer(await self._client.post(path, json=dict(body or {})))

    @staticmethod
    def _answer(response: httpx.Response) -> Any:
        if response.status_code >= 400:
            raise ApiProblem.of(response)
        return response.json()

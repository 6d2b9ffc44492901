"""The gateway's HTTP API as the command line uses it (operator and tenant routes)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import httpx

from .errors import ApiError, CliError
from .settings import CliSettings

Params = Mapping[str, str | int | None]


class ApiClient:
    """Thin: one method per call the commands make; non-2xx answers raise `ApiError`
    with the gateway's error code, transport failures raise `CliError`."""

    def __init__(
        self, settings: CliSettings, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        headers = {"Authorization": f"Bearer {settings.api_key}"} if settings.api_key else {}
        self.url = settings.url
        self._http = httpx.Client(
            base_url=settings.url,
            headers=headers,
            timeout=settings.timeout_seconds,
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def call(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: Any = None,
        retry_429: bool = False,
        **kwargs: Any,
    ) -> Any:
        """The decoded JSON body (None for an empty one); with `retry_429`, a 429 waits
        its Retry-After and tries again."""
        query = {k: v for k, v in (params or {}).items() if v is not None}
        while True:
            try:
                response = self._http.request(method, path, params=query, json=json, **kwargs)
            except httpx.HTTPError as exc:
                raise CliError(f"cannot reach the gateway at {self.url}: {exc}") from exc
            if response.status_code == 429 and retry_429:
                time.sleep(_retry_after(response))
                continue
            if not response.is_success:
                raise _api_error(response)
            return response.json() if response.content else None

    def get(self, path: str, params: Params | None = None) -> Any:
        return self.call("GET", path, params=params)

    def post(self, path: str, body: Any = None) -> Any:
        return self.call("POST", path, json=body)

    def operator_or_tenant(
        self, method: str, operator_path: str, tenant_path: str, **kwargs: Any
    ) -> Any:
        """Operator route first; a tenant key (403 forbidden) gets the tenant route."""
        try:
            return self.call(method, operator_path, **kwargs)
        except ApiError as exc:
            if exc.status != 403 or exc.code != "forbidden":
                raise
        return self.call(method, tenant_path, **kwargs)


def _retry_after(response: httpx.Response) -> float:
    try:
        return max(0.0, min(float(response.headers.get("Retry-After", "1")), 60.0))
    except ValueError:
        return 1.0


def _api_error(response: httpx.Response) -> ApiError:
    code, message = "http_error", response.text[:300] or response.reason_phrase
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        # The gateway's error body; tolerate it nested under "error" too.
        nested = body.get("error")
        error: dict[str, Any] = nested if isinstance(nested, dict) else body
        code = str(error.get("code", code))
        message = str(error.get("message", message))
    retry_after = _retry_after(response) if "Retry-After" in response.headers else None
    return ApiError(response.status_code, code, message, retry_after)

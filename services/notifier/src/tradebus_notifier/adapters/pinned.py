"""An httpx transport bound to one pinned address: the connection goes to the checked IP
while the Host header and TLS (SNI and certificate check) keep the URL's host name."""

from __future__ import annotations

import httpx

from ..domain.ports import PinnedAddress


class PinnedTransport(httpx.AsyncBaseTransport):
    def __init__(
        self, address: PinnedAddress, inner: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.address = address
        # No transport-level retries: the delivery schedule owns every retry.
        self._inner = inner or httpx.AsyncHTTPTransport(retries=0)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        a = self.address
        if (request.url.scheme, request.url.host, request.url.port or _default(a.scheme)) != (
            a.scheme,
            a.host,
            a.port,
        ):
            raise httpx.ConnectError(f"{request.url.host} is not the pinned host", request=request)
        request.url = request.url.copy_with(host=a.ip)
        request.extensions = {**request.extensions, "sni_hostname": a.host}
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def _default(scheme: str) -> int:
    return 443 if scheme == "https" else 80


def pinned_transport(address: PinnedAddress) -> httpx.AsyncBaseTransport:
    """The default TransportFactory."""
    return PinnedTransport(address)

"""The default SSRF guard for webhook URLs: http(s) only, and every address the host
resolves to must pass the egress policy shared with ingestion (tradebus_egress: private,
loopback, link-local, CGNAT, reserved, multicast and cloud-metadata ranges refused,
embedded IPv4 judged by the address inside), unless an allowlisted network re-admits it.
The connection is then pinned to the checked address (adapters/pinned.py)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable

import httpx

from tradebus_egress import AddressPolicy, IPAddress

from ..domain.ports import AddressRefused, AddressUnresolvable, PinnedAddress

Resolver = Callable[[str, int], Awaitable[list[str]]]


async def system_resolver(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class NetworkGuard:
    def __init__(self, allowed_networks: Iterable[str] = (), *, resolver: Resolver | None = None):
        self._policy = AddressPolicy.from_settings(allowed_networks, ())
        self._resolve = resolver or system_resolver

    def permitted(self, ip: IPAddress, host: str = "") -> bool:
        return self._policy.refusal(host or str(ip), ip) is None

    async def resolve(self, url: str) -> PinnedAddress:
        try:
            parsed = httpx.URL(url)
        except httpx.InvalidURL as exc:
            raise AddressRefused(f"invalid URL: {exc}") from exc
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise AddressRefused("only http and https URLs with a host are delivered to")
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        try:
            literal: IPAddress | None = ipaddress.ip_address(parsed.host)
        except ValueError:
            literal = None
        if literal is not None:
            candidates = [literal]
        else:
            try:
                found = await self._resolve(parsed.host, port)
            except OSError as exc:
                raise AddressUnresolvable(f"{parsed.host} did not resolve: {exc}") from exc
            candidates = [ipaddress.ip_address(a.split("%", 1)[0]) for a in found]
            if not candidates:
                raise AddressUnresolvable(f"{parsed.host} has no address")
        refused = [str(ip) for ip in candidates if not self.permitted(ip, parsed.host)]
        if refused:  # one forbidden answer is enough: a name must not mix in an inside host
            raise AddressRefused(f"{parsed.host} resolves to a forbidden address {refused[0]}")
        return PinnedAddress(parsed.scheme, parsed.host, port, str(candidates[0]))

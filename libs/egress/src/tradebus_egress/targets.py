"""A URL checked against the egress policy: scheme, host, port, and the one address the
connection will be pinned to. Used by webhook delivery (every attempt) and by the gateway
when a tenant subscribes a URL (refused up front, with the reason)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from .addresses import AddressPolicy, IPAddress, parse_ip

Resolver = Callable[[str, int], Awaitable[list[str]]]


class TargetRefused(Exception):
    """The URL may not be called: bad scheme, or an address in a forbidden range."""


class TargetUnresolvable(Exception):
    """The host did not resolve now (may be transient)."""


@dataclass(frozen=True, slots=True)
class Target:
    scheme: str
    host: str
    port: int
    address: str


async def system_resolver(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def resolve_target(
    url: str, policy: AddressPolicy, resolver: Resolver = system_resolver
) -> Target:
    """Resolve `url`'s host and check every address it has; raises TargetRefused or
    TargetUnresolvable."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise TargetRefused(f"invalid URL: {exc}") from exc
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise TargetRefused("only http and https URLs with a host are allowed")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    literal = parse_ip(parsed.host)
    candidates: list[IPAddress]
    if literal is not None:
        candidates = [literal]
    else:
        try:
            found = await resolver(parsed.host, port)
        # UnicodeError: a name with an empty or over-long label, which no DNS can answer.
        except (OSError, UnicodeError) as exc:
            raise TargetUnresolvable(f"{parsed.host} did not resolve: {exc}") from exc
        candidates = [ip for a in found if (ip := parse_ip(a.split("%", 1)[0])) is not None]
        if not candidates:
            raise TargetUnresolvable(f"{parsed.host} has no address")
    for ip in candidates:  # one forbidden answer is enough: a name must not mix in an inside host
        reason = policy.refusal(parsed.host, ip)
        if reason is not None:
            raise TargetRefused(reason)
    return Target(parsed.scheme, parsed.host, port, str(candidates[0]))

"""The default SSRF guard for webhook URLs: http(s) only, and every address the host
resolves to must pass the egress policy shared with ingestion and the gateway
(tradebus_egress: private, loopback, link-local, CGNAT, reserved, multicast and
cloud-metadata ranges refused, embedded IPv4 judged by the address inside), unless an
allowlisted network re-admits it. The connection is then pinned to the checked address
(adapters/pinned.py)."""

from __future__ import annotations

from collections.abc import Iterable

from tradebus_egress import (
    AddressPolicy,
    IPAddress,
    Resolver,
    TargetRefused,
    TargetUnresolvable,
    resolve_target,
    system_resolver,
)

from ..domain.ports import AddressRefused, AddressUnresolvable, PinnedAddress

__all__ = ["NetworkGuard", "system_resolver"]


class NetworkGuard:
    def __init__(self, allowed_networks: Iterable[str] = (), *, resolver: Resolver | None = None):
        self._policy = AddressPolicy.from_settings(allowed_networks, ())
        self._resolve = resolver or system_resolver

    def permitted(self, ip: IPAddress, host: str = "") -> bool:
        return self._policy.refusal(host or str(ip), ip) is None

    async def resolve(self, url: str) -> PinnedAddress:
        try:
            target = await resolve_target(url, self._policy, self._resolve)
        except TargetRefused as exc:
            raise AddressRefused(str(exc)) from exc
        except TargetUnresolvable as exc:
            raise AddressUnresolvable(str(exc)) from exc
        return PinnedAddress(target.scheme, target.host, target.port, target.address)

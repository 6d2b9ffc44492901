"""Which addresses a URL fetch may connect to (server-side request forgery).

Pure: given a hostname and one of its resolved addresses, say why the connection is
refused, or None. Anything not plainly public unicast is refused, and addresses that
embed an IPv4 address (IPv4-mapped, NAT64, 6to4) are judged by the address they embed,
so `::ffff:127.0.0.1` is loopback. An operator allowlist (networks and/or hostnames)
re-admits what a deployment really needs, e.g. an intranet wiki."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Cloud instance-metadata endpoints (AWS/GCP/Azure/OpenStack, AWS ECS, AWS IPv6 IMDS,
# Alibaba Cloud). Credentials live there, so only an allowlisted network re-admits them.
METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200")
)

_V4: tuple[tuple[str, str], ...] = (
    ("0.0.0.0/8", "unspecified"),
    ("10.0.0.0/8", "private"),
    ("100.64.0.0/10", "cgnat"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link_local"),
    ("172.16.0.0/12", "private"),
    ("192.0.0.0/24", "reserved"),
    ("192.0.2.0/24", "reserved"),  # documentation (TEST-NET-1)
    ("192.88.99.0/24", "reserved"),  # 6to4 relay anycast
    ("192.168.0.0/16", "private"),
    ("198.18.0.0/15", "reserved"),  # benchmarking
    ("198.51.100.0/24", "reserved"),
    ("203.0.113.0/24", "reserved"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved"),  # includes the broadcast address
)
_V6: tuple[tuple[str, str], ...] = (
    ("::/128", "unspecified"),
    ("::1/128", "loopback"),
    ("::/96", "reserved"),  # IPv4-compatible (deprecated)
    ("100::/64", "reserved"),  # discard-only
    ("2001::/23", "reserved"),  # IETF protocol assignments, Teredo included
    ("2001:db8::/32", "reserved"),  # documentation
    ("fc00::/7", "private"),  # unique local
    ("fe80::/10", "link_local"),
    ("fec0::/10", "private"),  # site-local (deprecated)
    ("ff00::/8", "multicast"),
)
_V4_NETS = tuple((ipaddress.ip_network(n), c) for n, c in _V4)
_V6_NETS = tuple((ipaddress.ip_network(n), c) for n, c in _V6)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for, if it is one of those that do."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def classify(address: IPAddress) -> str | None:
    """The category that makes `address` non-public (`loopback`, `private`, `link_local`,
    `cgnat`, `multicast`, `reserved`, `unspecified`, `metadata`), or None if public."""
    if address in METADATA:
        return "metadata"
    inner = embedded_ipv4(address)
    if inner is not None:
        return classify(inner)
    nets = _V4_NETS if isinstance(address, ipaddress.IPv4Address) else _V6_NETS
    for net, category in nets:
        if address in net:
            return category
    # Backstop for ranges added to the registries after this table was written.
    return None if address.is_global else "reserved"


def _normal_host(host: str) -> str:
    return host.strip().rstrip(".").lower()


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    """`allowed_networks` re-admit addresses for any host; `allowed_hosts` re-admit any
    address for those hostnames (`.example.com` covers its subdomains) except cloud
    metadata: a hostname entry trusts its DNS, and DNS is what a rebinding attack forges."""

    allowed_networks: tuple[IPNetwork, ...] = ()
    allowed_hosts: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def from_settings(cls, networks: Iterable[str], hosts: Iterable[str]) -> AddressPolicy:
        return cls(
            tuple(ipaddress.ip_network(n.strip(), strict=False) for n in networks if n.strip()),
            frozenset(_normal_host(h) for h in hosts if h.strip()),
        )

    def host_allowed(self, host: str) -> bool:
        name = _normal_host(host)
        return any(
            name == entry or (entry.startswith(".") and name.endswith(entry))
            for entry in self.allowed_hosts
        )

    def network_allowed(self, address: IPAddress) -> bool:
        candidates = [address]
        inner = embedded_ipv4(address)
        if inner is not None:
            candidates.append(inner)
        return any(
            a.version == net.version and a in net
            for a in candidates
            for net in self.allowed_networks
        )

    def refusal(self, host: str, address: IPAddress) -> str | None:
        """Why connecting to `address` for `host` is refused, or None when allowed."""
        category = classify(address)
        if category is None or self.network_allowed(address):
            return None
        if category != "metadata" and self.host_allowed(host):
            return None
        return f"{host} resolves to a {category.replace('_', '-')} address ({address})"


def parse_ip(host: str) -> IPAddress | None:
    """`host` as an IP literal (brackets of an IPv6 URL host removed), else None."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None

"""The egress policy: which addresses a fetch or a webhook delivery may connect to."""

from .addresses import (
    METADATA,
    AddressPolicy,
    IPAddress,
    IPNetwork,
    classify,
    embedded_ipv4,
    parse_ip,
)
from .targets import (
    Resolver,
    Target,
    TargetRefused,
    TargetUnresolvable,
    resolve_target,
    system_resolver,
)

__all__ = [
    "METADATA",
    "AddressPolicy",
    "IPAddress",
    "IPNetwork",
    "Resolver",
    "Target",
    "TargetRefused",
    "TargetUnresolvable",
    "classify",
    "embedded_ipv4",
    "parse_ip",
    "resolve_target",
    "system_resolver",
]

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

__all__ = [
    "METADATA",
    "AddressPolicy",
    "IPAddress",
    "IPNetwork",
    "classify",
    "embedded_ipv4",
    "parse_ip",
]

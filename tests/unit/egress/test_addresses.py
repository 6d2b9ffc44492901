"""The URL fetcher's address policy: what counts as non-public, and the allowlist."""

from __future__ import annotations

import ipaddress

import pytest

from tradebus_egress import AddressPolicy, classify, embedded_ipv4
from tradebus_omnirag_ingest.settings import OmniragIngestSettings

ip = ipaddress.ip_address


@pytest.mark.parametrize(
    ("address", "category"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.0.9", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.255", "private"),
        ("192.168.1.1", "private"),
        ("fd12:3456::1", "private"),
        ("169.254.1.1", "link_local"),
        ("fe80::1", "link_local"),
        ("100.64.0.1", "cgnat"),
        ("100.127.255.254", "cgnat"),
        ("224.0.0.1", "multicast"),
        ("239.255.255.250", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("192.0.2.10", "reserved"),
        ("2001:db8::1", "reserved"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("169.254.169.254", "metadata"),
        ("fd00:ec2::254", "metadata"),
        ("100.100.100.200", "metadata"),
        # IPv6 forms that stand for an IPv4 address are judged by that address.
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.0.0.1", "private"),
        ("::ffff:169.254.169.254", "metadata"),
        ("64:ff9b::7f00:1", "loopback"),  # NAT64
        ("2002:7f00:1::", "loopback"),  # 6to4
    ],
)
def test_non_public_addresses_are_classified(address: str, category: str) -> None:
    assert classify(ip(address)) == category


@pytest.mark.parametrize(
    "address", ["93.184.216.34", "8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"]
)
def test_public_addresses_pass(address: str) -> None:
    assert classify(ip(address)) is None
    assert AddressPolicy().refusal("example.com", ip(address)) is None


def test_embedded_ipv4_only_for_the_forms_that_embed_one() -> None:
    assert embedded_ipv4(ip("::ffff:1.2.3.4")) == ip("1.2.3.4")
    assert embedded_ipv4(ip("2606:4700::1")) is None
    assert embedded_ipv4(ip("1.2.3.4")) is None


def test_refusals_name_the_host_the_category_and_the_address() -> None:
    reason = AddressPolicy().refusal("evil.example", ip("127.0.0.1"))
    assert reason == "evil.example resolves to a loopback address (127.0.0.1)"


def test_an_allowlisted_network_admits_its_addresses_only() -> None:
    policy = AddressPolicy.from_settings(["127.0.0.0/8", "10.20.0.0/16"], [])
    assert policy.refusal("local", ip("127.0.0.1")) is None
    assert policy.refusal("local", ip("::ffff:127.0.0.1")) is None  # the embedded address
    assert policy.refusal("wiki", ip("10.20.3.4")) is None
    assert policy.refusal("wiki", ip("10.21.3.4")) is not None
    assert policy.refusal("local", ip("::1")) is not None  # another family


def test_an_allowlisted_host_admits_any_address_but_cloud_metadata() -> None:
    policy = AddressPolicy.from_settings([], ["wiki.corp.example", ".intra.example"])
    assert policy.refusal("wiki.corp.example", ip("10.0.0.5")) is None
    assert policy.refusal("WIKI.corp.example.", ip("10.0.0.5")) is None
    assert policy.refusal("docs.intra.example", ip("192.168.0.2")) is None
    assert policy.refusal("intra.example.evil.com", ip("192.168.0.2")) is not None
    assert policy.refusal("other.corp.example", ip("10.0.0.5")) is not None
    # DNS of an allowlisted name can be rebound; metadata needs a network entry.
    assert "metadata" in (policy.refusal("wiki.corp.example", ip("169.254.169.254")) or "")
    explicit = AddressPolicy.from_settings(["169.254.169.254/32"], [])
    assert explicit.refusal("anything", ip("169.254.169.254")) is None


def test_allowlists_come_from_the_environment_comma_separated(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TRADEBUS_OMNIRAG_INGEST_FETCH_ALLOW_NETWORKS", "127.0.0.0/8, ::1/128")
    monkeypatch.setenv("TRADEBUS_OMNIRAG_INGEST_FETCH_ALLOW_HOSTS", "wiki.corp,.intra")
    settings = OmniragIngestSettings()
    assert settings.fetch_allow_networks == ["127.0.0.0/8", "::1/128"]
    assert settings.fetch_allow_hosts == ["wiki.corp", ".intra"]


def test_a_malformed_network_is_refused_at_startup(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADEBUS_OMNIRAG_INGEST_FETCH_ALLOW_NETWORKS", "10.0.0.0/33")
    with pytest.raises(ValueError, match=r"10\.0\.0\.0/33"):
        OmniragIngestSettings()

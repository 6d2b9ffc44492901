"""The SSRF guard and the pinned transport."""

from __future__ import annotations

import httpx
import pytest

from tradebus_notifier.adapters import NetworkGuard, PinnedTransport
from tradebus_notifier.domain.ports import AddressRefused, AddressUnresolvable, PinnedAddress


def resolver(answers: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    async def resolve(host: str, port: int) -> list[str]:
        if host not in answers:
            raise OSError("Name or service not known")
        return answers[host]

    return resolve


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://10.1.2.3/",
        "http://192.168.0.10/",
        "http://172.16.5.5/",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.100.100.200/",  # shared address space (a cloud metadata service)
        "http://[::1]/",
        "http://[fd00:ec2::254]/",
        "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
        "http://mixed.example/",  # one public and one private answer
        "ftp://hooks.example/",
        "file:///etc/passwd",
    ],
)
async def test_forbidden_destinations_are_refused(url: str) -> None:
    guard = NetworkGuard(
        resolver=resolver(
            {"localhost": ["127.0.0.1"], "mixed.example": ["93.184.215.14", "10.0.0.1"]}
        )
    )
    with pytest.raises(AddressRefused):
        await guard.resolve(url)


async def test_a_public_host_is_pinned_to_its_address() -> None:
    guard = NetworkGuard(resolver=resolver({"hooks.example": ["93.184.215.14"]}))
    pinned = await guard.resolve("https://hooks.example/tradebus")
    assert pinned == PinnedAddress("https", "hooks.example", 443, "93.184.215.14")


async def test_allowlisted_networks_pass() -> None:
    guard = NetworkGuard(["127.0.0.0/8"], resolver=resolver({"localhost": ["127.0.0.1"]}))
    assert (await guard.resolve("http://localhost:9001/x")).ip == "127.0.0.1"
    with pytest.raises(AddressRefused):
        await guard.resolve("http://10.0.0.1/")


async def test_an_unknown_host_is_unresolvable_not_refused() -> None:
    with pytest.raises(AddressUnresolvable):
        await NetworkGuard(resolver=resolver({})).resolve("https://nowhere.example/")


async def test_the_pinned_transport_connects_to_the_ip_and_keeps_the_host() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    address = PinnedAddress("https", "hooks.example", 443, "93.184.215.14")
    transport = PinnedTransport(address, inner=httpx.MockTransport(handler))
    async with httpx.AsyncClient(transport=transport) as client:
        assert (
            await client.post("https://hooks.example/tradebus", content=b"{}")
        ).status_code == 204
        with pytest.raises(httpx.ConnectError):
            await client.post("https://elsewhere.example/", content=b"{}")
    (request,) = seen
    assert request.url.host == "93.184.215.14"
    assert request.headers["host"] == "hooks.example"
    assert request.extensions["sni_hostname"] == "hooks.example"

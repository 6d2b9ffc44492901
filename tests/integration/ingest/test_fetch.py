"""The URL fetcher against real sockets: every connection goes to an address it checked
itself (DNS rebinding), redirects are re-checked hop by hop, and TLS still verifies the
hostname. Local servers are reached only through the allowlist, as in production."""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.ingest.servers import (
    TEXT,
    RecordingBackend,
    ScriptedResolver,
    certificate,
    serving,
)
from tradebus_egress import AddressPolicy
from tradebus_omnirag_ingest.adapters import FetchLimits, PinnedTransport, fetch_url
from tradebus_omnirag_ingest.errors import FetchRefused

ip = ipaddress.ip_address
PUBLIC = ip("93.184.216.34")
LIMITS = FetchLimits(timeout=10, max_bytes=1_000_000, max_redirects=3)
MakeClient = Callable[..., httpx.AsyncClient]
LOCAL = AddressPolicy.from_settings(["127.0.0.0/8"], [])  # how tests reach local servers


@pytest.fixture
async def clients() -> AsyncIterator[list[httpx.AsyncClient]]:
    made: list[httpx.AsyncClient] = []
    yield made
    for client in made:
        await client.aclose()


@pytest.fixture
def client(clients: list[httpx.AsyncClient]) -> MakeClient:
    """A client on the pinned transport: `policy`, and its resolver / inner backend."""

    def make(policy: AddressPolicy = AddressPolicy(), **kwargs: Any) -> httpx.AsyncClient:
        transport = PinnedTransport(policy, **kwargs)
        made = httpx.AsyncClient(transport=transport, trust_env=False, timeout=5)
        clients.append(made)
        return made

    return make


async def refused(url: str, http: httpx.AsyncClient) -> FetchRefused:
    with pytest.raises(FetchRefused) as caught:
        await fetch_url(url, http=http, limits=LIMITS)
    return caught.value


async def test_an_allowlisted_local_server_is_fetched(client: MakeClient) -> None:
    with serving() as site:
        fetched = await fetch_url(
            f"http://127.0.0.1:{site.port}/a.txt", http=client(LOCAL), limits=LIMITS
        )
    assert fetched.data == TEXT and fetched.fmt == "txt"


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "[::ffff:127.0.0.1]", "169.254.169.254", "[::1]", "10.0.0.1", "0.0.0.0"]
)
async def test_non_public_ip_literals_are_refused_without_connecting(
    client: MakeClient, host: str
) -> None:
    backend = RecordingBackend()
    error = await refused(f"http://{host}:8080/latest/meta-data", client(inner=backend))
    assert error.code == "url_forbidden" and str(error).startswith("url_forbidden: ")
    assert backend.connected == []


@pytest.mark.parametrize(
    ("address", "category"),
    [("127.0.0.1", "loopback"), ("169.254.169.254", "metadata"), ("fd00:ec2::254", "metadata")],
)
async def test_a_hostname_resolving_to_a_forbidden_address_is_refused(
    client: MakeClient, address: str, category: str
) -> None:
    resolver = ScriptedResolver({"innocent.example": [[ip(address)]]})
    backend = RecordingBackend()
    with serving() as site:
        error = await refused(
            f"http://innocent.example:{site.port}/doc.txt",
            client(resolver=resolver, inner=backend),
        )
        assert site.requests == []
    assert error.code == "url_forbidden" and category in str(error)
    assert backend.connected == []


async def test_one_forbidden_answer_among_public_ones_refuses_the_host(client: MakeClient) -> None:
    resolver = ScriptedResolver({"mixed.example": [[PUBLIC, ip("127.0.0.1")]]})
    error = await refused("http://mixed.example/doc.txt", client(resolver=resolver))
    assert error.code == "url_forbidden"


async def test_dns_rebinding_connects_to_the_address_that_was_checked(client: MakeClient) -> None:
    """First answer public, every later one loopback: the fetcher resolves once per
    connection and connects to exactly that answer; nothing resolves a second time."""
    resolver = ScriptedResolver({"rebind.example": [[PUBLIC], [ip("127.0.0.1")]]})
    backend = RecordingBackend()
    with serving() as site:
        fetched = await fetch_url(
            f"http://rebind.example:{site.port}/doc.txt",
            http=client(resolver=resolver, inner=backend),
            limits=LIMITS,
        )
        assert site.requests == [f"rebind.example:{site.port}/doc.txt"]  # Host kept
    assert fetched.data == TEXT
    assert backend.connected == [(str(PUBLIC), site.port)]
    assert resolver.calls == ["rebind.example"]


async def test_a_redirect_to_loopback_from_an_allowed_host_is_refused(client: MakeClient) -> None:
    resolver = ScriptedResolver({"docs.example": [[PUBLIC]]})
    backend = RecordingBackend()
    with serving() as site:
        site.redirects["/doc.txt"] = f"http://127.0.0.1:{site.port}/secret.txt"
        error = await refused(
            f"http://docs.example:{site.port}/doc.txt", client(resolver=resolver, inner=backend)
        )
        assert site.requests == [f"docs.example:{site.port}/doc.txt"]  # the hop never ran
    assert error.code == "url_forbidden" and "127.0.0.1" in str(error)
    assert backend.connected == [(str(PUBLIC), site.port)]


async def test_an_allowlisted_host_cannot_redirect_to_an_address_it_does_not_cover(
    client: MakeClient,
) -> None:
    """`wiki.corp` is allowlisted (it lives on loopback here); 127.0.0.1 itself is not."""
    policy = AddressPolicy.from_settings([], ["wiki.corp"])
    resolver = ScriptedResolver({"wiki.corp": [[ip("127.0.0.1")]]})
    with serving() as site:
        site.redirects["/start"] = f"http://127.0.0.1:{site.port}/doc.txt"
        http = client(policy, resolver=resolver)
        direct = await fetch_url(f"http://wiki.corp:{site.port}/page.txt", http=http, limits=LIMITS)
        assert direct.data == TEXT
        error = await refused(f"http://wiki.corp:{site.port}/start", http)
    assert error.code == "url_forbidden"


async def test_redirects_are_followed_a_bounded_number_of_times(client: MakeClient) -> None:
    with serving() as site:
        base = f"http://127.0.0.1:{site.port}"
        site.redirects.update({"/a": "/b", "/b": f"{base}/c.txt"})
        fetched = await fetch_url(f"{base}/a", http=client(LOCAL), limits=LIMITS)
        assert fetched.data == TEXT and fetched.fmt == "txt"
        site.redirects["/loop"] = "/loop"
        error = await refused(f"{base}/loop", client(LOCAL))
        assert error.code == "too_many_redirects"
        assert site.requests.count(f"127.0.0.1:{site.port}/loop") == LIMITS.max_redirects + 1
        site.redirects["/file"] = "file:///etc/passwd"
        assert (await refused(f"{base}/file", client(LOCAL))).code == "url_invalid"


async def test_tls_verifies_the_hostname_not_the_pinned_address(
    client: MakeClient, tmp_path: Path
) -> None:
    cert, key = certificate(tmp_path, "secure.example")
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(cert, key)
    trust = ssl.create_default_context(cafile=str(cert))
    resolver = ScriptedResolver({"secure.example": [[ip("127.0.0.1")]]})
    with serving(server_tls) as site:
        http = client(LOCAL, resolver=resolver, ssl_context=trust)
        fetched = await fetch_url(
            f"https://secure.example:{site.port}/doc.txt", http=http, limits=LIMITS
        )
        assert fetched.data == TEXT  # SNI and the certificate check used the name
        with pytest.raises(httpx.ConnectError, match=r"CERTIFICATE_VERIFY_FAILED|match"):
            await fetch_url(f"https://127.0.0.1:{site.port}/doc.txt", http=http, limits=LIMITS)

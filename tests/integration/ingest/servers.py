"""A small local HTTP(S) server for the URL fetcher's tests, and a network backend
that records where the fetcher connects (then really connects to the local server)."""

from __future__ import annotations

import contextlib
import ssl
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpcore

from tests.support.local_http import QuietHandler, local_server
from tradebus_egress import IPAddress

TEXT = b"Letters of credit protect both sides. The bank pays against documents."


@dataclass
class Site:
    port: int
    requests: list[str] = field(default_factory=list)
    redirects: dict[str, str] = field(default_factory=dict)  # path -> Location


@contextlib.contextmanager
def serving(tls: ssl.SSLContext | None = None) -> Iterator[Site]:
    site = Site(port=0)

    class Handler(QuietHandler):
        def do_GET(self) -> None:
            site.requests.append(f"{self.headers.get('Host')}{self.path}")
            if self.path in site.redirects:
                self.send_response(302)
                self.send_header("Location", site.redirects[self.path])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.reply(200, TEXT)

    with local_server(Handler, tls=tls) as site.port:
        yield site


def certificate(folder: Path, hostname: str) -> tuple[Path, Path]:
    """A self-signed certificate for `hostname` (openssl), as (cert, key) files."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", f"/CN={hostname}",
         "-addext", f"subjectAltName=DNS:{hostname}"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


class ScriptedResolver:
    """Answers per hostname, one list per call in turn (the last one repeats), so a
    test can play a rebinding DNS server: public first, private afterwards."""

    def __init__(self, answers: dict[str, list[list[IPAddress]]]) -> None:
        self.answers = answers
        self.calls: list[str] = []

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        turn = sum(1 for h in self.calls if h == host)
        self.calls.append(host)
        script = self.answers[host]
        return script[min(turn, len(script) - 1)]


class RecordingBackend(httpcore.AsyncNetworkBackend):
    """Records every address the fetcher connects to; connects to 127.0.0.1 instead
    (the only server a test has), so a 'public' address can be played locally."""

    def __init__(self) -> None:
        self.connected: list[tuple[str, int]] = []
        self._real = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.connected.append((host, port))
        return await self._real.connect_tcp("127.0.0.1", port, timeout, local_address)

    async def sleep(self, seconds: float) -> None:
        await self._real.sleep(seconds)

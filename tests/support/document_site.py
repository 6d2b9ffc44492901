"""A document served over HTTP that is down until the test brings it up: while `up` is
false every request gets `503` (a transient failure the ingest worker retries, then parks
as `retries_exhausted`); once true, `200` with `body`."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from .local_http import QuietHandler, local_server


@dataclass
class DocumentSite:
    body: bytes = b""
    up: bool = False
    port: int = 0
    statuses: list[int] = field(default_factory=list)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"


@contextlib.contextmanager
def document_site(body: bytes) -> Iterator[DocumentSite]:
    site = DocumentSite(body=body)

    class Handler(QuietHandler):
        def do_GET(self) -> None:
            status, payload = (200, site.body) if site.up else (503, b"down for maintenance")
            site.statuses.append(status)
            self.reply(status, payload, "text/plain; charset=utf-8")

    # other sites of the e2e tier take the first ports of the range
    with local_server(Handler, ports=range(9_601, 10_000)) as site.port:
        yield site

"""A document served over HTTP that is down until the test brings it up: while `up` is
false every request gets `503` (a transient failure the ingest worker retries, then parks
as `retries_exhausted`); once true, `200` with `body`."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


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

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, payload = (200, site.body) if site.up else (503, b"down for maintenance")
            site.statuses.append(status)
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    # The gateway accepts URL ports of at most four digits: take a free one below 10000.
    server = None
    for port in range(9_601, 9_999):
        with contextlib.suppress(OSError):
            server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
            break
    assert server is not None, "no free port below 10000"
    site.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()

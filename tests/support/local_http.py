"""A threaded HTTP server on loopback for the tests' stand-in sites."""

from __future__ import annotations

import contextlib
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class QuietHandler(BaseHTTPRequestHandler):
    """A handler that logs nothing and answers in one call."""

    def reply(self, status: int, body: bytes, content_type: str = "text/plain") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


# The gateway accepts URL ports of at most four digits: a site it fetches listens below.
GATEWAY_FETCHABLE = range(9_301, 10_000)


@contextlib.contextmanager
def local_server(
    handler: type[BaseHTTPRequestHandler],
    *,
    ports: range | None = None,
    tls: ssl.SSLContext | None = None,
) -> Iterator[int]:
    """Serves `handler` on 127.0.0.1 until the block ends; yields the port, the first
    free one of `ports` (any free port when None)."""
    server = None
    for port in ports or (0,):
        with contextlib.suppress(OSError):
            server = ThreadingHTTPServer(("127.0.0.1", port), handler)
            break
    assert server is not None, f"no free port in {ports}"
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()

"""omnirag-ingest's adapters: URL fetch over a pinned httpx transport, the parser
sandbox (a child process per document), and the chunk store."""

from .fetch import Fetched, FetchLimits, fetch, fetch_url
from .pinned import PinnedBackend, PinnedTransport, Resolver, SystemResolver
from .sandbox import ParserSandbox
from .storage import store_chunks

__all__ = [
    "FetchLimits",
    "Fetched",
    "ParserSandbox",
    "PinnedBackend",
    "PinnedTransport",
    "Resolver",
    "SystemResolver",
    "fetch",
    "fetch_url",
    "store_chunks",
]

"""tradebus messaging runtime: topology, confirmed publishing, consumers with
broker-side delayed retries and parking lots, and RPC over direct reply-to."""

from .bus import Bus
from .context import Handler, MessageContext
from .declare import TopologyConflict
from .errors import (
    BrokerUnavailable,
    DeadlineExceeded,
    PermanentError,
    PublishError,
    PublishNacked,
    RemoteError,
    RpcError,
    UnroutableMessage,
)
from .inbox import Inbox
from .settings import BusSettings

__all__ = [
    "BrokerUnavailable",
    "Bus",
    "BusSettings",
    "DeadlineExceeded",
    "Handler",
    "Inbox",
    "MessageContext",
    "PermanentError",
    "PublishError",
    "PublishNacked",
    "RemoteError",
    "RpcError",
    "TopologyConflict",
    "UnroutableMessage",
]

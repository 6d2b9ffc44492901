"""Default implementations of the notifier's ports."""

from .addresses import NetworkGuard
from .pinned import PinnedTransport, pinned_transport
from .scheduler import DelayNetworkScheduler

__all__ = ["DelayNetworkScheduler", "NetworkGuard", "PinnedTransport", "pinned_transport"]

"""Former home of the `tradebus-bus` commands, now `tradebus` (package tradebus_cli).
Kept for one release so `from tradebus_messaging.cli import discovered_endpoints` still
works; import it from `tradebus_messaging.verify`."""

from __future__ import annotations

from .verify import discovered_endpoints

__all__ = ["discovered_endpoints"]

"""Structured logging, health endpoints and metrics shared by every tradebus service."""

from .health import HealthServer, health_app, serve_health
from .log_config import (
    CURRENT_MESSAGE,
    bind_message_context,
    clear_message_context,
    configure_logging,
)
from .loop_lag import EventLoopLagMonitor

__all__ = [
    "CURRENT_MESSAGE",
    "EventLoopLagMonitor",
    "HealthServer",
    "bind_message_context",
    "clear_message_context",
    "configure_logging",
    "health_app",
    "serve_health",
]

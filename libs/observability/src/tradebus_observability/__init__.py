"""Structured logging, health endpoints and metrics shared by every tradebus service."""

from .health import HealthServer, health_app, serve_health
from .log_config import (
    CURRENT_MESSAGE,
    bind_message_context,
    clear_message_context,
    configure_logging,
)
from .loop_lag import EventLoopLagMonitor
from .tracing import Tracing, TracingSettings, configure_tracing

__all__ = [
    "CURRENT_MESSAGE",
    "EventLoopLagMonitor",
    "HealthServer",
    "Tracing",
    "TracingSettings",
    "bind_message_context",
    "clear_message_context",
    "configure_logging",
    "configure_tracing",
    "health_app",
    "serve_health",
]

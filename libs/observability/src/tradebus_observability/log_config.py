"""structlog JSON lines with per-message context bound through contextvars."""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar
from typing import Any

import structlog

from .tracing import current_ids

# The envelope of the message being handled. One ContextVar set per message is
# far cheaper than binding each field; the processor below expands it lazily.
CURRENT_MESSAGE: ContextVar[Any] = ContextVar("tradebus_current_message", default=None)


def merge_current_message(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    ids = current_ids()  # the active span's: a log line is found from its trace
    if ids is not None:
        event.setdefault("trace_id", ids[0])
        event.setdefault("span_id", ids[1])
    envelope = CURRENT_MESSAGE.get()
    if envelope is not None:
        event.setdefault("message_id", envelope.id)
        event.setdefault("message_type", envelope.type)
        event.setdefault("correlation_id", envelope.correlation_id)
        if envelope.tenant_id:
            event.setdefault("tenant_id", envelope.tenant_id)
        if envelope.traceparent and "trace_id" not in event:  # tracing off: the message's
            parts = envelope.traceparent.split("-")
            if len(parts) == 4:
                event.setdefault("trace_id", parts[1])
    return event


def configure_logging(service: str, level: str = "INFO", *, json: bool = True) -> None:
    """One line per event on stdout: timestamp, level, service, logger, and whatever
    the current message bound (tenant, correlation id, message id, trace id)."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        merge_current_message,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_service(service),
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(sys.stdout),
        cache_logger_on_first_use=True,
    )
    # Libraries log through stdlib; render them the same way, quieter by default.
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processor=renderer, foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name]
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)


def _add_service(service: str) -> Any:
    def processor(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
        event.setdefault("service", service)
        return event

    return processor


def bind_message_context(**values: Any) -> None:
    structlog.contextvars.bind_contextvars(**{k: v for k, v in values.items() if v is not None})


def clear_message_context() -> None:
    structlog.contextvars.clear_contextvars()

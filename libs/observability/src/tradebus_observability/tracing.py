"""OpenTelemetry tracing for a process, configured from the standard `OTEL_*` variables.

Our code decides one thing: which exporters, if any. Everything else (resource attributes,
sampler, batch sizes and delays, the OTLP endpoint, headers and timeout) the SDK reads
from the environment itself. Without an exporter no provider is installed at all, so the
API stays the no-op one and a span costs nothing."""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

log = structlog.get_logger("tradebus.tracing")


class TracingSettings(BaseSettings):
    """The few `OTEL_*` variables that choose the exporters (names as the spec has them)."""

    model_config = SettingsConfigDict(extra="ignore")

    sdk_disabled: bool = Field(False, validation_alias="OTEL_SDK_DISABLED")
    service_name: str | None = Field(None, validation_alias="OTEL_SERVICE_NAME")
    # A comma-separated list: otlp, console, none. Unset: otlp when an endpoint is set.
    traces_exporter: str | None = Field(None, validation_alias="OTEL_TRACES_EXPORTER")
    otlp_endpoint: str | None = Field(None, validation_alias="OTEL_EXPORTER_OTLP_ENDPOINT")
    otlp_traces_endpoint: str | None = Field(
        None, validation_alias="OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
    )

    @field_validator("service_name", "traces_exporter", "otlp_endpoint", "otlp_traces_endpoint")
    @classmethod
    def _blank_is_unset(cls, value: str | None) -> str | None:
        # Compose and Kubernetes often pass an empty value for "not configured".
        return value.strip() or None if value is not None else None

    def exporter_names(self) -> list[str]:
        if self.sdk_disabled:
            return []
        if self.traces_exporter is None:
            return ["otlp"] if self.otlp_endpoint or self.otlp_traces_endpoint else []
        names = [n.strip().lower() for n in self.traces_exporter.split(",") if n.strip()]
        return [] if "none" in names else names


def span_exporters(settings: TracingSettings) -> list[SpanExporter]:
    """The exporters the settings ask for (none: tracing stays off)."""
    exporters: list[SpanExporter] = []
    for name in settings.exporter_names():
        if name == "otlp":
            # http/protobuf; reads OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT, _HEADERS, _TIMEOUT.
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            exporters.append(OTLPSpanExporter())
        elif name == "console":
            exporters.append(ConsoleSpanExporter())
        else:
            log.warning("unknown OTEL_TRACES_EXPORTER entry ignored", exporter=name)
    return exporters


def tracer_provider(service: str, settings: TracingSettings) -> TracerProvider | None:
    """A provider exporting through every configured exporter, or None when there is none.
    `OTEL_SERVICE_NAME` (and `OTEL_RESOURCE_ATTRIBUTES`) win over the service's own name."""
    exporters = span_exporters(settings)
    if not exporters:
        return None
    attributes = {} if settings.service_name else {SERVICE_NAME: service}
    provider = TracerProvider(resource=Resource.create(attributes))
    for exporter in exporters:
        # Batching sizes and delay from OTEL_BSP_*; flushed by provider.shutdown().
        provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


@dataclass(frozen=True, slots=True)
class Tracing:
    """The process's tracing: `enabled` says whether spans are recorded at all."""

    provider: TracerProvider | None

    @property
    def enabled(self) -> bool:
        return self.provider is not None

    def shutdown(self) -> None:
        """Export what is still buffered (the last spans of a SIGTERM drain), then stop."""
        if self.provider is not None:
            self.provider.shutdown()


def configure_tracing(service: str, settings: TracingSettings | None = None) -> Tracing:
    """Once per process, at its entry point: install the provider and instrument httpx
    and pymongo (clients made afterwards are traced). A no-op without an exporter."""
    settings = settings or TracingSettings()
    provider = tracer_provider(service, settings)
    if provider is None:
        return Tracing(None)
    trace.set_tracer_provider(provider)
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.pymongo import PymongoInstrumentor

    HTTPXClientInstrumentor().instrument(tracer_provider=provider)
    PymongoInstrumentor().instrument(tracer_provider=provider)
    log.info("tracing on", service=service, exporters=settings.exporter_names())
    return Tracing(provider)


def current_ids() -> tuple[str, str] | None:
    """Trace id and span id (hex) of the active span, when one is recording or propagated."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return format(context.trace_id, "032x"), format(context.span_id, "016x")

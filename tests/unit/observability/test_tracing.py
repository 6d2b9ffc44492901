"""Tracing setup from the OTEL_* variables: OTLP when an endpoint is set, the console when
asked, nothing at all otherwise; and log lines carrying the active span's ids."""

from __future__ import annotations

import json

import pytest
import structlog
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace.export import ConsoleSpanExporter

from tests.support.tracing import recorded_spans
from tradebus_observability import TracingSettings, configure_logging, configure_tracing
from tradebus_observability.tracing import span_exporters, tracer_provider

OTEL_VARIABLES = (
    "OTEL_SDK_DISABLED",
    "OTEL_SERVICE_NAME",
    "OTEL_TRACES_EXPORTER",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_RESOURCE_ATTRIBUTES",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in OTEL_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def kinds(monkeypatch: pytest.MonkeyPatch, **env: str) -> list[type]:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return [type(e) for e in span_exporters(TracingSettings())]


def test_no_endpoint_means_no_exporter_and_no_provider(monkeypatch) -> None:
    assert kinds(monkeypatch) == []
    assert tracer_provider("svc", TracingSettings()) is None
    tracing = configure_tracing("svc", TracingSettings())
    assert not tracing.enabled
    tracing.shutdown()  # harmless when off


@pytest.mark.parametrize(
    "variable", ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]
)
def test_an_otlp_endpoint_turns_the_otlp_exporter_on(monkeypatch, variable: str) -> None:
    assert kinds(monkeypatch, **{variable: "http://127.0.0.1:4318"}) == [OTLPSpanExporter]


def test_the_console_exporter_when_asked(monkeypatch) -> None:
    assert kinds(monkeypatch, OTEL_TRACES_EXPORTER="console") == [ConsoleSpanExporter]
    assert kinds(
        monkeypatch,
        OTEL_TRACES_EXPORTER="otlp, console",
        OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:4318",
    ) == [OTLPSpanExporter, ConsoleSpanExporter]


@pytest.mark.parametrize(
    "env",
    [
        {"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"},
        {"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"},
        {"OTEL_EXPORTER_OTLP_ENDPOINT": ""},  # compose's "not configured"
        {"OTEL_TRACES_EXPORTER": "zipkin"},  # not installed: ignored, not a crash
    ],
)
def test_off_switches(monkeypatch, env: dict[str, str]) -> None:
    assert kinds(monkeypatch, **env) == []


def test_the_service_name_defaults_to_the_service(monkeypatch) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console")
    provider = tracer_provider("omnirag-embed", TracingSettings())
    assert provider is not None
    assert provider.resource.attributes["service.name"] == "omnirag-embed"
    provider.shutdown()
    monkeypatch.setenv("OTEL_SERVICE_NAME", "embed-canary")
    provider = tracer_provider("omnirag-embed", TracingSettings())
    assert provider is not None
    assert provider.resource.attributes["service.name"] == "embed-canary"
    provider.shutdown()


def test_log_lines_carry_the_active_spans_ids(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("svc-test")
    with recorded_spans():
        from opentelemetry import trace

        with trace.get_tracer("t").start_as_current_span("work") as span:
            structlog.get_logger("x").info("inside a span")
            ids = span.get_span_context()
    structlog.get_logger("x").info("outside")
    inside, outside = (json.loads(line) for line in capsys.readouterr().out.splitlines()[-2:])
    assert inside["trace_id"] == format(ids.trace_id, "032x")
    assert inside["span_id"] == format(ids.span_id, "016x")
    assert "trace_id" not in outside and "span_id" not in outside

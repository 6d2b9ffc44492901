import json

import pytest
from starlette.testclient import TestClient

from tradebus_observability import bind_message_context, configure_logging, health_app


def app_with(checks: dict[str, bool]) -> TestClient:
    async def readiness() -> dict[str, bool]:
        return checks

    return TestClient(health_app(readiness))


def test_readyz_is_200_when_every_check_passes() -> None:
    response = app_with({"rabbitmq": True, "mongodb": True}).get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"ready": True, "checks": {"rabbitmq": True, "mongodb": True}}


def test_readyz_is_503_and_names_the_failing_check() -> None:
    response = app_with({"rabbitmq": True, "consumer:x.y": False}).get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["consumer:x.y"] is False


def test_healthz_and_metrics() -> None:
    client = app_with({})
    assert client.get("/healthz").json() == {"status": "ok"}
    metrics = client.get("/metrics")
    assert metrics.status_code == 200
    assert "python_info" in metrics.text


def test_healthz_turns_503_when_liveness_fails() -> None:
    alive = [True]

    async def readiness() -> dict[str, bool]:
        return {}

    client = TestClient(health_app(readiness, lambda: alive[0]))
    assert client.get("/healthz").status_code == 200
    alive[0] = False
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "unhealthy"}


def test_log_lines_are_json_with_the_bound_context(capsys: pytest.CaptureFixture[str]) -> None:
    import structlog

    configure_logging("svc-test")
    bind_message_context(correlation_id="c-1", tenant_id="t-1", message_id=None)
    structlog.get_logger("x").info("handled", queue="q")
    structlog.contextvars.clear_contextvars()
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line["event"] == "handled"
    assert line["service"] == "svc-test"
    assert line["correlation_id"] == "c-1" and line["tenant_id"] == "t-1"
    assert "message_id" not in line
    assert line["level"] == "info" and line["timestamp"]


def test_log_lines_inside_a_handler_carry_the_message_ids(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import structlog

    from tradebus_contracts import Envelope
    from tradebus_observability import CURRENT_MESSAGE

    configure_logging("svc-test")
    envelope = Envelope(
        type="a.b.c.v1",
        source="s",
        tenant_id="t-9",
        traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    )
    token = CURRENT_MESSAGE.set(envelope)
    try:
        structlog.get_logger("x").info("inside")
    finally:
        CURRENT_MESSAGE.reset(token)
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line["message_id"] == envelope.id and line["tenant_id"] == "t-9"
    assert line["trace_id"] == "0af7651916cd43dd8448eb211c80319c"
    assert line["message_type"] == "a.b.c.v1"

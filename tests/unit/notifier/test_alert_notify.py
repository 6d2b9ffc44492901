"""The channel job handler: what it sends where, and which failures it retries."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tradebus_contracts import Envelope, NotifyAlert
from tradebus_messaging import MessageContext, PermanentError
from tradebus_notifier.adapters.alert_channels import ChannelPoster
from tradebus_notifier.alert_notify import AlertNotifier, ChannelUnwell
from tradebus_notifier.alert_settings import AlertChannel

from .fakes import FakeGuard

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
JOB: dict[str, Any] = {
    "status": "firing",
    "alert_id": "a1",
    "fingerprint": "f1",
    "rule": "consumer_missing",
    "rule_kind": "consumer_missing",
    "severity": "critical",
    "subject": "omnirag-ingest.ingest",
    "value": 0.0,
    "threshold": 1.0,
    "summary": "queue omnirag-ingest.ingest has 0 consumer(s) (minimum 1)",
    "started_at": T0,
    "at": T0,
}


def ctx() -> MessageContext:
    async def publish(*_: Any, **__: Any) -> Envelope:
        raise AssertionError("the handler publishes nothing")

    return MessageContext(
        envelope=Envelope(type=NotifyAlert.message_type, source="test"),
        queue="notifier.alert-notify",
        attempt=1,
        redelivered=False,
        deadline=None,
        session=None,
        _publish=publish,
    )


def notifier(*answers: httpx.Response) -> tuple[AlertNotifier, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers[min(len(seen), len(answers)) - 1]

    channels = [
        AlertChannel(kind="wecom", url="https://qyapi.example/send?key=secret", name="robot"),  # type: ignore[arg-type]
    ]
    poster = ChannelPoster(
        guard=FakeGuard(), transports=lambda a: httpx.MockTransport(handler), timeout=1
    )
    return AlertNotifier(channels=channels, poster=poster), seen


async def test_the_job_goes_to_its_channel_in_the_channels_format() -> None:
    handler, seen = notifier(httpx.Response(200, json={"errcode": 0, "errmsg": "ok"}))
    await handler(NotifyAlert(channel="robot", **JOB), ctx())
    (request,) = seen
    assert str(request.url) == "https://qyapi.example/send?key=secret"
    body = json.loads(request.content)
    assert body["msgtype"] == "markdown" and "consumer_missing" in body["markdown"]["content"]


async def test_a_rate_limited_channel_is_retried_by_the_runtime() -> None:
    handler, _ = notifier(httpx.Response(200, json={"errcode": 45009, "errmsg": "freq"}))
    with pytest.raises(ChannelUnwell):
        await handler(NotifyAlert(channel="robot", **JOB), ctx())


async def test_a_refused_answer_or_an_unknown_channel_is_parked_at_once() -> None:
    handler, seen = notifier(httpx.Response(200, json={"errcode": 93000, "errmsg": "bad key"}))
    with pytest.raises(PermanentError, match="93000"):
        await handler(NotifyAlert(channel="robot", **JOB), ctx())
    with pytest.raises(PermanentError, match="no alert channel named 'gone'"):
        await handler(NotifyAlert(channel="gone", **JOB), ctx())
    assert len(seen) == 1

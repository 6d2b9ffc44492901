"""What each operator channel receives, and how its answer is judged."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest

from tradebus_contracts import NotifyAlert
from tradebus_notifier.adapters.alert_channels import ChannelPoster, judge
from tradebus_notifier.domain.alert_messages import WECOM_MAX_BYTES, body_for
from tradebus_notifier.domain.outcomes import Verdict
from tradebus_notifier.domain.ports import AddressRefused, PinnedAddress

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def notice(status: str = "firing", **values: object) -> NotifyAlert:
    return NotifyAlert.model_validate(
        {
            "channel": "ops",
            "status": status,
            "alert_id": "a" * 32,
            "fingerprint": "f" * 32,
            "rule": "empty_retrieval_rate",
            "rule_kind": "empty_retrieval_rate",
            "severity": "critical",
            "subject": "acme",
            "tenant_id": "acme",
            "value": 0.75,
            "threshold": 0.5,
            "summary": "75% of 40 retrievals came back empty <in> the last 15 min for acme",
            "started_at": T0,
            "at": T0,
            **values,
        }
    )


def test_json_is_one_flat_object() -> None:
    body = body_for("json", notice())
    assert body["status"] == "firing" and body["alert_id"] == "a" * 32
    assert (body["value"], body["threshold"], body["tenant_id"]) == (0.75, 0.5, "acme")
    assert body["raised_at"] == T0.isoformat() and "resolved_at" not in body
    resolved = body_for("json", notice("resolved"))
    assert resolved["resolved_at"] == T0.isoformat() and "raised_at" not in resolved
    json.dumps(body)  # serialisable as is


def test_slack_is_an_incoming_webhook_message_with_text_and_blocks() -> None:
    body = body_for("slack", notice())
    assert body["text"].startswith("[FIRING] critical: empty_retrieval_rate on acme")
    section, context = body["blocks"]
    assert section["type"] == "section" and section["text"]["type"] == "mrkdwn"
    assert ":rotating_light:" in section["text"]["text"]
    assert "&lt;in&gt;" in section["text"]["text"]  # Slack's control characters escaped
    assert context["type"] == "context" and "`0.75`" in context["elements"][0]["text"]
    assert (
        ":white_check_mark:" in body_for("slack", notice("resolved"))["blocks"][0]["text"]["text"]
    )


def test_wecom_is_a_markdown_robot_message_within_its_size_limit() -> None:
    body = body_for("wecom", notice())
    assert body["msgtype"] == "markdown" and set(body) == {"msgtype", "markdown"}
    content = body["markdown"]["content"]
    assert content.startswith('## <font color="warning">[FIRING] critical')
    assert "> threshold: " in content
    huge = body_for("wecom", notice(summary="告警" * 500))
    assert len(huge["markdown"]["content"].encode()) <= WECOM_MAX_BYTES


@pytest.mark.parametrize(
    ("kind", "status", "content", "verdict"),
    [
        ("json", 204, b"", Verdict.DELIVERED),
        ("slack", 200, b"ok", Verdict.DELIVERED),
        ("slack", 429, b"rate_limited", Verdict.RETRY),
        ("slack", 403, b"invalid_token", Verdict.FAIL),
        ("json", 410, b"", Verdict.FAIL),  # not a subscription: nothing to disable
        ("json", 503, b"", Verdict.RETRY),
        ("wecom", 200, b'{"errcode":0,"errmsg":"ok"}', Verdict.DELIVERED),
        ("wecom", 200, b'{"errcode":45009,"errmsg":"api freq out of limit"}', Verdict.RETRY),
        ("wecom", 200, b'{"errcode":93000,"errmsg":"invalid webhook url"}', Verdict.FAIL),
        ("wecom", 200, b"<html>", Verdict.FAIL),
    ],
)
def test_answers_are_judged_per_channel(
    kind: str, status: int, content: bytes, verdict: Verdict
) -> None:
    assert judge(kind, status, content).verdict is verdict  # type: ignore[arg-type]


class Guard:
    def __init__(self, refuse: bool = False) -> None:
        self.refuse = refuse

    async def resolve(self, url: str) -> PinnedAddress:
        if self.refuse:
            raise AddressRefused("169.254.169.254 is forbidden")
        return PinnedAddress("https", "hooks.example", 443, "203.0.113.7")


async def test_the_poster_goes_through_the_guard_and_posts_json() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, text="ok")

    poster = ChannelPoster(
        guard=Guard(), transports=lambda a: httpx.MockTransport(answer), timeout=1
    )
    got = await poster.post("slack", "https://hooks.example/x", {"text": "hi"})
    assert got.verdict is Verdict.DELIVERED
    assert json.loads(seen[0].content) == {"text": "hi"}
    assert seen[0].headers["content-type"].startswith("application/json")

    refused = ChannelPoster(
        guard=Guard(refuse=True), transports=lambda a: httpx.MockTransport(answer), timeout=1
    )
    got = await refused.post("json", "http://169.254.169.254/", {})
    assert got.verdict is Verdict.FAIL and got.detail.startswith("refused")
    assert len(seen) == 1  # no request was made


async def test_a_connection_error_is_worth_retrying() -> None:
    def broken(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    poster = ChannelPoster(
        guard=Guard(), transports=lambda a: httpx.MockTransport(broken), timeout=1
    )
    assert (await poster.post("json", "https://hooks.example/x", {})).verdict is Verdict.RETRY

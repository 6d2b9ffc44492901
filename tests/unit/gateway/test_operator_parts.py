"""Pure parts of the operator API: cursors, role checks, lot validation, grouping and
display of parked messages, queue kinds, services, alerts, drift."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from tradebus_gateway.auth import Principal
from tradebus_gateway.deps import authenticated, operator
from tradebus_gateway.errors import ApiError
from tradebus_gateway.key_directory import _principal
from tradebus_gateway.operator import parked
from tradebus_gateway.operator.overview_view import alert_item, kind_of, queue_rows, services
from tradebus_gateway.operator.paging import (
    InvalidCursor,
    after_of,
    decode_cursor,
    encode_cursor,
)
from tradebus_gateway.operator.topology_check import drift_items, expected_topology
from tradebus_messaging import BusSettings
from tradebus_messaging.parking import ParkedMessage
from tradebus_messaging.verify import LiveState


def test_a_cursor_round_trips_and_made_up_ones_are_refused() -> None:
    for key in ("01a23afa6a60b9567c07f39d0be2f909", "tenant with spaces", "中文"):
        assert decode_cursor(encode_cursor(key)) == key
    for bad in ("", "x", "not-a-cursor", encode_cursor("k")[:-2] + "!!", "eyJhIjoxfQ"):
        with pytest.raises(InvalidCursor):
            decode_cursor(bad)
    with pytest.raises(ApiError) as refused:
        after_of("eyJhZnRlciI6IDF9")  # {"after": 1}: not a key
    assert (refused.value.status, refused.value.code) == (422, "invalid_cursor")
    assert after_of(None) is None


def test_key_records_become_principals_with_their_role() -> None:
    old = _principal({"_id": "d1", "tenant_id": "acme"})  # before roles existed
    assert (old.tenant_id, old.role, old.operator) == ("acme", "tenant", False)
    op = _principal({"_id": "d2", "tenant_id": None, "role": "operator", "label": "ops"})
    assert (op.tenant_id, op.role, op.operator, op.label) == ("", "operator", True, "ops")


@dataclass
class _Limits:
    async def rate(self, subject: str, item: Any) -> float:
        return 0.0


STATE: Any = SimpleNamespace(
    settings=SimpleNamespace(tenant_rate_per_second=50.0, tenant_burst=100), limits=_Limits()
)


@pytest.mark.parametrize(
    ("check", "principal", "code"),
    [
        (authenticated, Principal("", "d", "operator"), "operator_key"),
        (operator, Principal("acme", "d", "tenant"), "forbidden"),
    ],
)
def test_each_role_is_refused_on_the_others_routes(check: Any, principal: Any, code: str) -> None:
    with pytest.raises(ApiError) as refused:
        asyncio.run(check(STATE, principal))
    assert (refused.value.status, refused.value.code) == (403, code)


def test_each_role_passes_its_own_check() -> None:
    tenant, op = Principal("acme", "d"), Principal("", "e", "operator")
    assert asyncio.run(authenticated(STATE, tenant)) is tenant
    assert asyncio.run(operator(STATE, op)) is op


def test_only_parking_lots_of_the_topology_are_known() -> None:
    live = ["a.work", "a.work.dlq", "b.x.dlq", "tradebus.delay.00", "amq.gen.dlq", "c.work"]
    assert parked.known_lots(live, ["a.work", "c.work", "gone.work"]) == [
        "a.work.dlq",
        "b.x.dlq",
    ]
    assert parked.source_of("omnirag-ingest.ingest.dlq") == "omnirag-ingest.ingest"


def _parked(reason: str, exc: str, **headers: Any) -> ParkedMessage:
    return ParkedMessage(
        message_id="m",
        message_type="t.v1",
        queue="q",
        reason=reason,
        exception_type=exc,
        exception_message="boom",
        attempts=1,
        first_failure_at=None,
        last_failure_at=None,
        headers=headers,
        body=b"{}",
    )


def test_parked_messages_group_by_reason_and_exception_largest_first() -> None:
    messages = [
        _parked("permanent", "E1"),
        _parked("retries_exhausted", "E2"),
        _parked("retries_exhausted", "E2"),
        _parked("permanent", "E3"),
    ]
    assert parked.groups(messages) == [
        {"reason": "retries_exhausted", "exception": "E2", "count": 2},
        {"reason": "permanent", "exception": "E1", "count": 1},
        {"reason": "permanent", "exception": "E3", "count": 1},
    ]
    assert parked.groups([]) == []


def test_a_parked_message_reads_as_json_with_a_bounded_preview() -> None:
    at = datetime(2026, 12, 3, tzinfo=UTC)
    message = _parked(
        "permanent",
        "E",
        **{
            "cloudEvents:tenantid": "acme",
            "cloudEvents:taskid": b"t1",
            "x-death": [{"time": at, "count": 1, "raw": b"\xff"}],
            "x-tradebus-stacktrace": "x" * 5000,
        },
    )
    body = ("é" * 3000).encode()  # 6,000 bytes; 2 KiB cuts no character in half
    item = parked.item(ParkedMessage(**{**_fields(message), "body": body}))
    assert (item["tenant_id"], item["task_id"]) == ("acme", "t1")
    assert item["parked_at"] == at.isoformat()
    assert item["headers"]["x-death"][0]["raw"] == "\ufffd"
    assert len(item["headers"]["x-tradebus-stacktrace"]) <= parked.MAX_HEADER_TEXT + 1
    assert len(item["body_preview"].encode()) <= parked.PREVIEW_BYTES
    assert len(parked.preview(b"\xff" * 5000)) == parked.PREVIEW_BYTES  # replaced, not dropped


def _fields(message: ParkedMessage) -> dict[str, Any]:
    return {name: getattr(message, name) for name in ParkedMessage.__slots__}


def test_queues_have_kinds_and_services_group_by_prefix() -> None:
    names = {"a.work", "a.work.dlq", "a.rpc", "a.rpc.dlq"}
    dlx = {"x-dead-letter-exchange": "tradebus.dlx"}
    assert kind_of("a.work", dlx, names) == "work"
    assert kind_of("a.work.dlq", {}, names) == "parking"
    assert kind_of("a.rpc", {}, names) == "rpc"
    assert kind_of("tradebus.delay.00", {}, names) == "other"
    rows = [
        {"name": "a.work", "arguments": dlx, "messages_ready": 3, "consumers": 2,
         "message_stats": {"publish_details": {"rate": 1.5}}, "head_message_timestamp": 90},
        {"name": "a.work.dlq", "arguments": {}, "messages_ready": 1, "consumers": 0},
        {"name": "b.x", "arguments": {}, "messages_ready": 0, "consumers": 1},
        {"name": "tradebus.delay.00", "arguments": {}, "messages_ready": 0},
        {"name": "r.q", "arguments": {"x-expires": 1}, "messages_ready": 0},
    ]  # fmt: skip
    queues = queue_rows(rows, now=100.0)
    assert [q["name"] for q in queues] == ["a.work", "a.work.dlq", "b.x", "tradebus.delay.00"]
    assert queues[0]["publish_rate"] == 1.5 and queues[0]["oldest_age_seconds"] == 10.0
    assert queues[2]["oldest_age_seconds"] is None
    assert services(queues) == [
        {"name": "a", "consumers": 2, "queues": ["a.work", "a.work.dlq"]},
        {"name": "b", "consumers": 1, "queues": ["b.x"]},
    ]


def test_alerts_are_firing_or_resolved_and_pending_is_not_shown() -> None:
    at = datetime(2026, 12, 3, tzinfo=UTC)
    doc = {"rule": "backlog", "subject": "q", "threshold": 10, "value": 12.0, "raised_at": at}
    firing = alert_item({**doc, "phase": "clearing"})
    assert firing is not None and firing["state"] == "firing" and firing["since"] == at
    assert "12" in firing["summary"] and "q" in firing["summary"]
    resolved = alert_item({**doc, "phase": "ok", "updated_at": at})
    assert resolved is not None and resolved["state"] == "resolved"
    assert alert_item({**doc, "phase": "pending"}) is None


def test_a_missing_declared_queue_and_a_changed_argument_are_drift() -> None:
    bus = BusSettings(delay_levels=1)
    base = expected_topology(LiveState({}, {}, set()), bus, [])
    live = LiveState(
        exchanges={e.name: {"type": e.type, "durable": True} for e in base.exchanges},
        queues={
            "tradebus.delay.00": {"durable": True, "arguments": base.queues[0].arguments},
            "s.work": {"durable": True, "arguments": {"x-queue-type": "classic"}},
            "s.work.dlq": {"durable": True, "arguments": {"x-queue-type": "quorum"}},
        },
        bindings=set(),
    )
    expected = expected_topology(live, bus, ["s.work", "s.gone"])
    drift = {(d["kind"], d["name"], d["problem"]) for d in drift_items(expected, live)}
    assert ("queue", "s.gone", "missing") in drift
    assert ("queue", "s.gone.dlq", "missing") in drift
    assert ("binding", "tradebus.dlx -> s.work.dlq", "missing") in drift
    assert not any(name == "s.work" and problem == "missing" for _, name, problem in drift)


def test_every_keyed_route_documents_its_403() -> None:
    from tradebus_gateway.app import create_app

    document = create_app().openapi()
    checked = 0
    for path, item in document["paths"].items():
        for operation in item.values():
            responses = operation.get("responses", {})
            if "401" not in responses:
                continue
            checked += 1
            example = responses["403"]["content"]["application/json"]["example"]
            operator_route = path.startswith("/v1/operator/") or path == "/v1/schedules"
            assert example["code"] == ("forbidden" if operator_route else "operator_key"), path
    assert checked > 20

from datetime import UTC, datetime

import pytest

from tradebus_contracts import Envelope, InvalidEnvelope


def test_round_trip_through_amqp_headers() -> None:
    env = Envelope(
        type="a.b.c.v1",
        source="tradebus/test",
        tenant_id="t1",
        subject="doc-1",
        traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    )
    headers = env.to_headers()
    assert headers["cloudEvents:specversion"] == "1.0"
    assert headers["cloudEvents:tenantid"] == "t1"
    assert Envelope.from_headers(headers) == env


def test_header_values_may_arrive_as_bytes() -> None:
    env = Envelope(type="a.b.c.v1", source="s")
    raw = {k: v.encode() for k, v in env.to_headers().items()}
    assert Envelope.from_headers(raw) == env


def test_first_message_correlates_with_itself_and_causes_follow_ups() -> None:
    first = Envelope(type="a.b.c.v1", source="s", tenant_id="t")
    assert first.correlation_id == first.id
    follow = first.caused("x.y.z.v1", "other")
    assert follow.correlation_id == first.id
    assert follow.causation_id == first.id
    assert follow.tenant_id == "t"
    assert follow.id != first.id


@pytest.mark.parametrize("missing", ["id", "source", "type", "specversion"])
def test_missing_required_attribute_is_invalid(missing: str) -> None:
    headers = Envelope(type="a.b.c.v1", source="s").to_headers()
    del headers[f"cloudEvents:{missing}"]
    with pytest.raises(InvalidEnvelope, match=missing):
        Envelope.from_headers(headers)


def test_no_headers_and_wrong_specversion_are_invalid() -> None:
    with pytest.raises(InvalidEnvelope):
        Envelope.from_headers(None)
    headers = Envelope(type="a.b.c.v1", source="s").to_headers()
    headers["cloudEvents:specversion"] = "0.3"
    with pytest.raises(InvalidEnvelope, match="specversion"):
        Envelope.from_headers(headers)


def test_naive_time_is_taken_as_utc_and_garbage_time_is_invalid() -> None:
    headers = Envelope(type="a.b.c.v1", source="s").to_headers()
    headers["cloudEvents:time"] = "2026-01-02T03:04:05"
    assert Envelope.from_headers(headers).time == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    headers["cloudEvents:time"] = "yesterday"
    with pytest.raises(InvalidEnvelope, match="time"):
        Envelope.from_headers(headers)

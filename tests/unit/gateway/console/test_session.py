"""Console sessions: only the id's digest is stored, sessions expire, CSRF compares."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tradebus_gateway.console.session import COLLECTION, SessionStore

from .fakes import FakeDb


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


async def test_a_session_is_found_by_its_id_and_stored_under_its_digest() -> None:
    db = FakeDb()
    store = SessionStore(db, lifetime=timedelta(hours=8))  # type: ignore[arg-type]
    session = await store.create("tb_secret", key_id="abc", label="ops")

    (stored_id,) = db[COLLECTION].docs
    assert stored_id != session.session_id  # a database dump opens no session
    found = await store.get(session.session_id)
    assert found is not None and found.api_key == "tb_secret" and found.label == "ops"
    assert found.csrf_token == session.csrf_token
    assert await store.get("made-up") is None
    assert await store.get(None) is None
    keys, options = db[COLLECTION].indexes[0]
    assert keys == "expires_at" and options == {"expireAfterSeconds": 0}


async def test_two_sessions_get_different_ids_and_tokens() -> None:
    store = SessionStore(FakeDb(), lifetime=timedelta(hours=8))  # type: ignore[arg-type]
    one = await store.create("k", key_id="a", label="")
    two = await store.create("k", key_id="a", label="")
    assert one.session_id != two.session_id and one.csrf_token != two.csrf_token


async def test_a_session_ends_after_its_lifetime_even_before_the_ttl_sweep() -> None:
    clock, db = Clock(), FakeDb()
    store = SessionStore(db, lifetime=timedelta(hours=8), clock=clock)  # type: ignore[arg-type]
    session = await store.create("k", key_id="a", label="")
    clock.now += timedelta(hours=7, minutes=59)
    assert await store.get(session.session_id) is not None
    clock.now += timedelta(minutes=1)
    assert await store.get(session.session_id) is None
    assert db[COLLECTION].docs == {}  # and it is gone


async def test_a_session_idle_too_long_ends_and_activity_keeps_it_alive() -> None:
    clock, db = Clock(), FakeDb()
    store = SessionStore(  # type: ignore[arg-type]
        db, lifetime=timedelta(hours=8), idle=timedelta(minutes=30), clock=clock
    )
    session = await store.create("k", key_id="a", label="")
    for _ in range(3):  # the operator clicks every 20 minutes: an hour in, still in
        clock.now += timedelta(minutes=20)
        assert await store.get(session.session_id) is not None
    # Polling alone (a console left open) does not count: 30 minutes later it is over.
    for _ in range(15):
        clock.now += timedelta(minutes=2)
        found = await store.get(session.session_id, activity=False)
    assert found is None
    assert db[COLLECTION].docs == {}
    assert await store.get(session.session_id) is None  # a click now cannot revive it


async def test_activity_is_written_at_most_once_a_minute() -> None:
    clock, db = Clock(), FakeDb()
    store = SessionStore(  # type: ignore[arg-type]
        db, lifetime=timedelta(hours=8), idle=timedelta(minutes=30), clock=clock
    )
    session = await store.create("k", key_id="a", label="")
    (doc,) = db[COLLECTION].docs.values()
    created = doc["active_at"]
    clock.now += timedelta(seconds=30)
    await store.get(session.session_id)
    assert doc["active_at"] == created
    clock.now += timedelta(seconds=31)
    await store.get(session.session_id)
    assert doc["active_at"] == clock.now


async def test_naive_expiry_from_bson_is_read_as_utc() -> None:
    clock, db = Clock(), FakeDb()
    store = SessionStore(db, lifetime=timedelta(hours=1), clock=clock)  # type: ignore[arg-type]
    session = await store.create("k", key_id="a", label="")
    (doc,) = db[COLLECTION].docs.values()
    doc["expires_at"] = doc["expires_at"].replace(tzinfo=None)
    assert await store.get(session.session_id) is not None


async def test_logout_deletes_the_session() -> None:
    store = SessionStore(FakeDb(), lifetime=timedelta(hours=1))  # type: ignore[arg-type]
    session = await store.create("k", key_id="a", label="")
    await store.delete(session.session_id)
    assert await store.get(session.session_id) is None


async def test_csrf_token_must_match_exactly() -> None:
    store = SessionStore(FakeDb(), lifetime=timedelta(hours=1))  # type: ignore[arg-type]
    session = await store.create("k", key_id="a", label="")
    assert session.csrf_ok(session.csrf_token)
    assert not session.csrf_ok(None)
    assert not session.csrf_ok("")
    assert not session.csrf_ok(session.csrf_token[:-1])
    assert not session.csrf_ok(session.csrf_token + "x")

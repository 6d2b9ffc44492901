"""The in-memory key directory over a fake collection: how many loads reach the
database is the point, so the fake counts them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from tradebus_gateway.auth import digest
from tradebus_gateway.key_directory import KeyDirectory


class FakeKeys:
    def __init__(self) -> None:
        self.docs: dict[str, dict[str, Any]] = {}
        self.finds = 0

    def add(self, key: str, tenant: str, *, revoked: bool = False) -> None:
        self.docs[digest(key)] = {
            "_id": digest(key),
            "tenant_id": tenant,
            "created_at": datetime.now(UTC),
            "revoked": revoked,
        }

    def find(self, query: dict[str, Any], projection: dict[str, int]) -> Any:
        self.finds += 1
        since = query.get("created_at", {}).get("$gte")
        docs = [
            d
            for d in self.docs.values()
            if not d["revoked"] and (since is None or d["created_at"] >= since)
        ]

        async def rows() -> Any:
            for d in docs:
                yield d

        return rows()


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def directory(keys: FakeKeys, clock: Clock, **kw: Any) -> KeyDirectory:
    return KeyDirectory({"api_keys": keys}, clock=clock, **kw)  # type: ignore[arg-type]


async def test_known_keys_resolve_from_memory() -> None:
    keys, clock = FakeKeys(), Clock()
    keys.add("tb_a", "acme")
    d = directory(keys, clock)
    for _ in range(100):
        principal = await d.resolve("tb_a")
        assert principal is not None and principal.tenant_id == "acme"
    assert keys.finds == 1


async def test_a_flood_of_unknown_keys_costs_one_catch_up_load_per_interval() -> None:
    keys, clock = FakeKeys(), Clock()
    keys.add("tb_a", "acme")
    d = directory(keys, clock, catch_up_seconds=0.05)
    await d.resolve("tb_a")
    results = await asyncio.gather(*(d.resolve(f"tb_random_{i}") for i in range(500)))
    assert results == [None] * 500
    assert keys.finds <= 3  # the first full load, and one or two shared catch-ups


async def test_a_key_created_after_the_snapshot_works_on_first_use() -> None:
    keys, clock = FakeKeys(), Clock()
    keys.add("tb_a", "acme")
    d = directory(keys, clock)
    await d.resolve("tb_a")
    keys.add("tb_new", "globex")  # created by the CLI a moment ago
    principal = await d.resolve("tb_new")
    assert principal is not None and principal.tenant_id == "globex"


async def test_a_revoked_key_stops_working_within_the_refresh_bound() -> None:
    keys, clock = FakeKeys(), Clock()
    keys.add("tb_a", "acme")
    d = directory(keys, clock, refresh_seconds=30)
    assert await d.resolve("tb_a") is not None
    keys.docs[digest("tb_a")]["revoked"] = True
    clock.now += 31
    await d.resolve("tb_a")  # starts the reload in the background, answers from the old one
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert await d.resolve("tb_a") is None


async def test_a_known_key_of_a_fresh_snapshot_resolves_without_an_await() -> None:
    keys, clock = FakeKeys(), Clock()
    keys.add("tb_a", "acme")
    d = directory(keys, clock, refresh_seconds=30)
    assert d.cached("tb_a") is None  # nothing loaded yet: `resolve` loads
    await d.resolve("tb_a")
    principal = d.cached("tb_a")
    assert principal is not None and principal.tenant_id == "acme"
    assert d.cached("tb_unknown") is None  # a miss goes the catch-up way
    clock.now += 30
    assert d.cached("tb_a") is None  # due for reload: `resolve` starts it

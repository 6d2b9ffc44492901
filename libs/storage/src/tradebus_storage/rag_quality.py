"""Retrieval quality over time: one `rag_quality` document per recall evaluation of a
tenant (dealbrain writes them, the gateway and the alert rules read them).

The `_id` is (tenant, schedule slot, k), so a redelivered evaluation replaces its own
record instead of adding a second point to the series. Reads are always by tenant,
newest first, on the (tenant_id, at) index."""

from __future__ import annotations

import base64
import binascii
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

COLLECTION = "rag_quality"


@dataclass(frozen=True, slots=True)
class RecallRun:
    tenant_id: str
    at: datetime
    slot: datetime
    k: int
    recall_at_k: float  # 0..1
    mrr: float  # 0..1
    samples: int
    method: str  # "offline" | "llm"
    embedder: str
    threshold: float | None = None
    below_threshold: bool = False
    degraded: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        return run_id(self.tenant_id, self.slot, self.k)

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> RecallRun:
        return cls(
            tenant_id=doc["tenant_id"],
            at=_utc(doc["at"]),
            slot=_utc(doc["slot"]),
            k=doc["k"],
            recall_at_k=doc["recall_at_k"],
            mrr=doc["mrr"],
            samples=doc["samples"],
            method=doc["method"],
            embedder=doc["embedder"],
            threshold=doc.get("threshold"),
            below_threshold=bool(doc.get("below_threshold", False)),
            degraded=list(doc.get("degraded") or []),
        )


def run_id(tenant_id: str, slot: datetime, k: int) -> str:
    return f"{tenant_id}|{_utc(slot).isoformat()}|{k}"


class InvalidCursor(ValueError):
    """A history cursor this repository did not hand out."""


class RagQualityRepository:
    def __init__(self, db: AsyncDatabase[Any]) -> None:
        self._c = db[COLLECTION]

    async def ensure_indexes(self) -> None:
        await self._c.create_index([("tenant_id", ASCENDING), ("at", DESCENDING)])

    async def record(self, run: RecallRun) -> None:
        """Idempotent: the same (tenant, slot, k) replaces its record."""
        await self._c.replace_one({"_id": run.id}, asdict(run), upsert=True)

    async def get(self, tenant_id: str, slot: datetime, k: int) -> RecallRun | None:
        doc = await self._c.find_one({"_id": run_id(tenant_id, slot, k), "tenant_id": tenant_id})
        return None if doc is None else RecallRun.from_doc(doc)

    async def latest(self, tenant_id: str) -> RecallRun | None:
        docs = await self._c.find({"tenant_id": tenant_id}).sort(_ORDER).limit(1).to_list()
        return RecallRun.from_doc(docs[0]) if docs else None

    async def history(
        self,
        tenant_id: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> tuple[list[RecallRun], str | None]:
        """Runs with `since <= at < until`, newest first; the cursor continues a page."""
        query: dict[str, Any] = {"tenant_id": tenant_id}
        at: dict[str, Any] = {}
        if since is not None:
            at["$gte"] = since
        if until is not None:
            at["$lt"] = until
        if at:
            query["at"] = at
        if cursor is not None:
            after_at, after_id = decode_cursor(cursor)
            query["$or"] = [
                {"at": {"$lt": after_at}},
                {"at": after_at, "_id": {"$lt": after_id}},
            ]
        docs = await self._c.find(query).sort(_ORDER).limit(limit + 1).to_list()
        runs = [RecallRun.from_doc(d) for d in docs[:limit]]
        more = len(docs) > limit
        return runs, (encode_cursor(runs[-1]) if more and runs else None)


_ORDER = [("at", DESCENDING), ("_id", DESCENDING)]


def encode_cursor(run: RecallRun) -> str:
    raw = f"{run.at.isoformat()}\n{run.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, run = raw.split("\n", 1)
        return _utc(datetime.fromisoformat(at)), run
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidCursor("not a cursor of this listing") from exc


def _utc(value: datetime) -> datetime:
    # MongoDB hands back naive UTC datetimes.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

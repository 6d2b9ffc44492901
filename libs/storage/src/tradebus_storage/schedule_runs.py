"""Schedule runs: one record per (job, slot), the claim that makes a slot fire once across
every replica. Inserting it is the claim (its `_id` is the pair, so a second insert
fails with a duplicate key: another replica has the slot). The record then goes
`claimed` → `published` once the command is confirmed by the broker; a record left
`claimed` (its holder died between the two) is taken over after a grace period and
published again under the same message id. Records expire by TTL after `retention`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

CLAIMED = "claimed"
PUBLISHED = "published"
ABANDONED = "abandoned"  # never published within the catch-up window


def run_id(job: str, slot: datetime) -> str:
    return f"{job}@{slot.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"


def slot_message_id(job: str, slot: datetime) -> str:
    """The command's message id: the same for every publish of the slot, so a
    re-publish after a crash is recognisable by the consumer."""
    return f"schedule.{run_id(job, slot)}"


@dataclass(frozen=True, slots=True)
class ScheduleRun:
    job: str
    slot: datetime
    status: str
    holder: str
    claimed_at: datetime
    fired_at: datetime | None
    message_id: str
    catch_up: bool
    publish_attempts: int
    error: str | None

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> ScheduleRun:
        return cls(
            job=doc["job"],
            slot=_aware(doc["slot"]),
            status=doc["status"],
            holder=doc.get("holder", ""),
            claimed_at=_aware(doc["claimed_at"]),
            fired_at=_aware(doc["fired_at"]) if doc.get("fired_at") else None,
            message_id=doc["message_id"],
            catch_up=bool(doc.get("catch_up", False)),
            publish_attempts=int(doc.get("publish_attempts", 1)),
            error=doc.get("error"),
        )


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class ScheduleRuns:
    def __init__(
        self, db: AsyncDatabase[Any], *, retention: timedelta = timedelta(days=30)
    ) -> None:
        self._c = db["schedule_runs"]
        self._retention = retention

    async def ensure_indexes(self) -> None:
        await self._c.create_index("expires_at", expireAfterSeconds=0)
        await self._c.create_index([("job", ASCENDING), ("slot", DESCENDING)])
        await self._c.create_index([("status", ASCENDING), ("claimed_at", ASCENDING)])

    async def claim(
        self, job: str, slot: datetime, *, holder: str, now: datetime, catch_up: bool = False
    ) -> bool:
        """True when this caller now owns the slot; False when someone already did."""
        try:
            await self._c.insert_one(
                {
                    "_id": run_id(job, slot),
                    "job": job,
                    "slot": slot,
                    "status": CLAIMED,
                    "holder": holder,
                    "claimed_at": now,
                    "fired_at": None,
                    "message_id": slot_message_id(job, slot),
                    "catch_up": catch_up,
                    "publish_attempts": 1,
                    "error": None,
                    "expires_at": now + self._retention,
                }
            )
        except DuplicateKeyError:
            return False
        return True

    async def mark_published(self, job: str, slot: datetime, *, now: datetime) -> bool:
        result = await self._c.update_one(
            {"_id": run_id(job, slot), "status": CLAIMED},
            {"$set": {"status": PUBLISHED, "fired_at": now, "error": None}},
        )
        return result.modified_count == 1

    async def note_failure(self, job: str, slot: datetime, error: str) -> None:
        await self._c.update_one(
            {"_id": run_id(job, slot), "status": CLAIMED}, {"$set": {"error": error[:500]}}
        )

    async def take_over_stale(
        self, *, holder: str, claimed_before: datetime, now: datetime, limit: int = 20
    ) -> list[ScheduleRun]:
        """Claimed-but-unpublished runs older than the grace period, each taken over by
        compare-and-set (its claim time refreshed), so one replica per grace period
        re-publishes a given run."""
        taken: list[ScheduleRun] = []
        for _ in range(limit):
            doc = await self._c.find_one_and_update(
                {"status": CLAIMED, "claimed_at": {"$lte": claimed_before}},
                {"$set": {"holder": holder, "claimed_at": now}, "$inc": {"publish_attempts": 1}},
                sort=[("claimed_at", ASCENDING)],
                return_document=ReturnDocument.AFTER,
            )
            if doc is None:
                break
            taken.append(ScheduleRun.from_doc(doc))
        return taken

    async def abandon(self, job: str, slot: datetime, reason: str) -> None:
        await self._c.update_one(
            {"_id": run_id(job, slot), "status": CLAIMED},
            {"$set": {"status": ABANDONED, "error": reason[:500]}},
        )

    async def get(self, job: str, slot: datetime) -> ScheduleRun | None:
        doc = await self._c.find_one({"_id": run_id(job, slot)})
        return ScheduleRun.from_doc(doc) if doc else None

    async def last_run(self, job: str) -> ScheduleRun | None:
        doc = await self._c.find_one({"job": job}, sort=[("slot", DESCENDING)])
        return ScheduleRun.from_doc(doc) if doc else None

    async def runs(self, job: str, limit: int = 100) -> list[ScheduleRun]:
        docs = await self._c.find({"job": job}).sort("slot", DESCENDING).limit(limit).to_list()
        return [ScheduleRun.from_doc(d) for d in docs]

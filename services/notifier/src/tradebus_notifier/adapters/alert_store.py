"""Alert state in MongoDB, so a restart or another replica carries on where the last
evaluation stopped instead of raising again.

`alert_states`: one document per (rule, subject), `_id` its fingerprint: the phase and
its timestamps, a `version` written compare-and-set (two evaluators that overlapped when a
lease changed hands cannot both move one alert), and an `outbox` of notifications not
yet published. A transition and its notification are one write; publishing follows and
takes the notification out of the outbox, so a crash in between publishes it later, with
the same message ids (never lost, never a second alert).

`alert_backlogs`: per watched queue, when its current unbroken backlog began."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from ..domain.alert_state import AlertState, Phase


@dataclass(frozen=True, slots=True)
class StoredAlert:
    fingerprint: str
    rule: str
    rule_kind: str
    subject: str
    tenant_id: str | None
    severity: str
    threshold: float
    state: AlertState
    version: int


@dataclass(frozen=True, slots=True)
class Notice:
    """A notification waiting in an outbox: `id` is the event's message id."""

    fingerprint: str
    id: str
    type: str
    payload: dict[str, Any]


class AlertStore:
    def __init__(self, db: AsyncDatabase[Any]) -> None:
        self._states = db["alert_states"]
        self._backlogs = db["alert_backlogs"]

    async def ensure_indexes(self) -> None:
        await self._states.create_index([("phase", ASCENDING)])

    async def load(self) -> dict[str, StoredAlert]:
        """Every alert not at rest (and those at rest with notices still to send)."""
        out = {}
        async for d in self._states.find({}):
            out[d["_id"]] = StoredAlert(
                fingerprint=d["_id"],
                rule=d["rule"],
                rule_kind=d["rule_kind"],
                subject=d["subject"],
                tenant_id=d.get("tenant_id"),
                severity=d["severity"],
                threshold=float(d["threshold"]),
                state=AlertState(
                    Phase(d["phase"]),
                    started_at=d.get("started_at"),
                    clear_since=d.get("clear_since"),
                    raised_at=d.get("raised_at"),
                    value=d.get("value"),
                ),
                version=int(d["version"]),
            )
        return out

    async def save(
        self,
        *,
        fingerprint: str,
        expected_version: int | None,
        meta: dict[str, Any],
        state: AlertState,
        notice: Notice | None,
    ) -> bool:
        """Write the new state (and its notice) if nobody moved the alert since it was
        read (`expected_version`; None: it had no document). False: lost the race."""
        now = datetime.now(UTC)
        fields = {
            **meta,
            "phase": state.phase.value,
            "started_at": state.started_at,
            "clear_since": state.clear_since,
            "raised_at": state.raised_at,
            "value": state.value,
            "updated_at": now,
        }
        pushed = [_notice_doc(notice)] if notice else []
        if expected_version is None:
            try:
                await self._states.insert_one(
                    {"_id": fingerprint, **fields, "version": 1, "outbox": pushed}
                )
            except DuplicateKeyError:
                return False
            return True
        update: dict[str, Any] = {"$set": fields, "$inc": {"version": 1}}
        if pushed:
            update["$push"] = {"outbox": {"$each": pushed}}
        result = await self._states.update_one(
            {"_id": fingerprint, "version": expected_version}, update
        )
        return result.matched_count == 1

    async def outbox(self) -> list[Notice]:
        """Notices not yet published, oldest first per alert."""
        out = []
        async for d in self._states.find({"outbox.0": {"$exists": True}}, {"outbox": 1}):
            for n in d.get("outbox") or []:
                out.append(Notice(d["_id"], n["id"], n["type"], n["payload"]))
        return out

    async def sent(self, notice: Notice) -> None:
        await self._states.update_one(
            {"_id": notice.fingerprint}, {"$pull": {"outbox": {"id": notice.id}}}
        )

    async def backlogs(self) -> dict[str, datetime]:
        return {d["_id"]: d["since"] async for d in self._backlogs.find({})}

    async def set_backlog(self, queue: str, since: datetime | None) -> None:
        if since is None:
            await self._backlogs.delete_one({"_id": queue})
        else:
            await self._backlogs.update_one({"_id": queue}, {"$set": {"since": since}}, upsert=True)


def _notice_doc(n: Notice) -> dict[str, Any]:
    return {"id": n.id, "type": n.type, "payload": n.payload}

"""Parking-lot operations for the operator routes: the lots (validated against the
declared topology and the broker's own queue list, so no made-up queue name reaches the
broker), their messages, replay and purge. Replay goes through `ParkingLot.replay`,
which marks each copy replayed: the consumer revives its task (tasks.py `revive`)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from tradebus_messaging import BrokerUnavailable
from tradebus_messaging.parking import ParkingLot, UnknownParkingLot, connected_lot

from ..errors import ApiError
from ..state import GatewayState
from . import parked
from .broker import live_queues, unavailable

SETTLE_SECONDS = 3.0


@dataclass(frozen=True, slots=True)
class Selection:
    """Which parked messages an operation touches: by id, by reason, or all."""

    message_ids: frozenset[str] | None = None
    reason: str | None = None

    def details(self) -> dict[str, Any]:
        if self.message_ids is not None:
            return {"message_ids": sorted(self.message_ids)}
        if self.reason is not None:
            return {"reason": self.reason}
        return {"all": True}


class ParkingLots:
    def __init__(self, state: GatewayState) -> None:
        self._bus = state.bus.settings
        self._settings = state.settings
        self._retry_after = state.settings.unavailable_retry_after_seconds

    async def names(self) -> list[str]:
        rows = await live_queues(self._bus, retry_after=self._retry_after)
        return parked.known_lots((str(r.get("name")) for r in rows), self._endpoints)

    async def known(self, lot: str) -> str:
        """`lot` if it is one; else `404 not_found` without asking the broker about it."""
        if not lot.endswith(parked.LOT_SUFFIX) or lot not in await self.names():
            raise ApiError(404, "not_found", f"no parking lot {lot!r}")
        return lot

    async def summaries(self) -> list[dict[str, Any]]:
        names = await self.names()
        out = []
        async with self._lot() as lots:
            for name in names:
                source = parked.source_of(name)
                before = await lots.count(source)
                messages = await lots.list(source, limit=self._settings.operator_parking_scan)
                await _settled(lots, source, before)
                out.append(
                    {
                        "queue": name,
                        "source": source,
                        "count": max(before, len(messages)),
                        "groups": parked.groups(messages),
                        "scanned": len(messages),
                    }
                )
        return out

    async def messages(self, lot: str, *, reason: str | None, limit: int) -> list[dict[str, Any]]:
        source = parked.source_of(await self.known(lot))
        async with self._lot() as lots:
            before = await lots.count(source)
            found = await lots.list(source, limit=self._settings.operator_parking_scan)
            await _settled(lots, source, before)
        chosen = [m for m in found if reason is None or m.reason == reason]
        return [parked.item(m) for m in chosen[:limit]]

    async def replay(self, lot: str, selection: Selection) -> tuple[int, int]:
        """(replayed, left in the lot); at most `operator_replay_limit` go back per call."""
        source = parked.source_of(await self.known(lot))
        async with self._lot() as lots:
            before = await lots.count(source)
            replayed = await lots.replay(
                source,
                message_ids=None if selection.message_ids is None else set(selection.message_ids),
                reason=selection.reason,
                limit=self._settings.operator_replay_limit,
            )
            await _settled(lots, source, before - replayed)
        return replayed, max(0, before - replayed)

    async def purge(self, lot: str, selection: Selection) -> int:
        source = parked.source_of(await self.known(lot))
        async with self._lot() as lots:
            before = await lots.count(source)
            purged = await lots.purge(
                source,
                message_ids=None if selection.message_ids is None else set(selection.message_ids),
                reason=selection.reason,
            )
            await _settled(lots, source, before - purged)
        return purged

    @property
    def _endpoints(self) -> list[str]:
        return self._settings.operator_endpoints

    @contextlib.asynccontextmanager
    async def _lot(self) -> AsyncIterator[ParkingLot]:
        try:
            async with connected_lot(self._bus.url, levels=self._bus.delay_levels) as lot:
                yield lot
        except BrokerUnavailable as exc:
            raise unavailable("message broker unavailable", self._retry_after) from exc
        except UnknownParkingLot as exc:  # deleted since it was listed
            raise ApiError(404, "not_found", "the parking lot no longer exists") from exc


async def _settled(lots: ParkingLot, source: str, expected: int) -> None:
    """Messages an operation looked at and left go back to the lot when its channel
    closes, which the broker applies a moment later: wait (briefly) until they are back,
    so the next look (the operator's next click) sees every one of them."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SETTLE_SECONDS
    # polling the broker: no event to wait on
    while loop.time() < deadline:
        if await lots.count(source) >= expected:
            return
        await asyncio.sleep(0.05)

"""What a scheduled job is and when it fires: one model and one slot computation, read by
the notifier (which fires the slots) and the gateway (which shows them). Pure: no I/O.

A schedule is a cron expression in a time zone (cronsim, the evaluator healthchecks.io
maintains: five fields, or six with seconds first; daylight-saving gaps and repeats
handled as Debian's cron does). A *slot* is one instant the expression names, in UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

NAME_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"


class ScheduleSpec(BaseModel):
    """One job: publish `command` (a registered command type) with `payload` plus the
    slot, at every instant `cron` names in `timezone`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(..., pattern=NAME_PATTERN, examples=["kb-check"])
    cron: str = Field(..., examples=["30 2 * * *"])
    command: str = Field(..., examples=["omnirag.kb.check.v1"])
    payload: dict[str, Any] = Field(default_factory=dict)
    timezone: str = "UTC"
    enabled: bool = True

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        try:
            CronSim(value, datetime.now(UTC))
        except CronSimError as exc:
            raise ValueError(f"invalid cron expression {value!r}: {exc}") from exc
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def next_slot(self, after: datetime) -> datetime:
        """The first slot strictly after `after`, in UTC."""
        return next(CronSim(self.cron, after.astimezone(self.zone))).astimezone(UTC)

    def latest_slot(self, at: datetime) -> datetime:
        """The last slot at or before `at` (to the second), in UTC."""
        start = at.replace(microsecond=0) + timedelta(seconds=1)
        return next(CronSim(self.cron, start.astimezone(self.zone), reverse=True)).astimezone(UTC)


# Nightly in the small hours (UTC), apart so they do not compete; sweeps hourly.
DEFAULT_SCHEDULES: tuple[ScheduleSpec, ...] = (
    ScheduleSpec(name="kb-check", cron="30 2 * * *", command="omnirag.kb.check.v1"),
    ScheduleSpec(name="recall-patrol", cron="30 3 * * *", command="dealbrain.recall.evaluate.v1"),
    ScheduleSpec(name="sweeps", cron="15 * * * *", command="notifier.sweeps.run.v1"),
)


class ScheduleSettings(BaseSettings):
    """Shared by the notifier (fires) and the gateway (shows): one variable each, so
    both read the same list. `TRADEBUS_SCHEDULES` is a JSON list of ScheduleSpec."""

    model_config = SettingsConfigDict(
        env_prefix="TRADEBUS_SCHEDULE_", extra="ignore", populate_by_name=True
    )

    schedules: list[ScheduleSpec] | None = Field(
        None, validation_alias=AliasChoices("TRADEBUS_SCHEDULES", "schedules")
    )
    # A slot missed while every replica was down is fired once at start-up if it is at
    # most this old; only the most recent missed slot of each schedule, never a backlog.
    catch_up_seconds: float = Field(3600.0, ge=0)

    @field_validator("schedules")
    @classmethod
    def _unique(cls, value: list[ScheduleSpec] | None) -> list[ScheduleSpec] | None:
        names = [s.name for s in value or ()]
        if len(names) != len(set(names)):
            raise ValueError(f"schedule names must be unique: {names}")
        return value

    @property
    def configured(self) -> bool:
        """True when the list was given; False means the defaults apply."""
        return self.schedules is not None

    def specs(self) -> list[ScheduleSpec]:
        return list(self.schedules if self.schedules is not None else DEFAULT_SCHEDULES)

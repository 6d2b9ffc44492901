"""Settings of the operator console (`TRADEBUS_CONSOLE_*`)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConsoleSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TRADEBUS_CONSOLE_", extra="ignore")

    # A session ends this long after login, whatever happens in between (MongoDB's TTL
    # index removes the document; reads check the expiry too, the sweeper is lazy).
    session_seconds: int = Field(8 * 3600, gt=0)
    # ... and this long after the operator's last request (the live parts' polling is not
    # the operator's), so a console left open on an unattended screen locks itself.
    idle_seconds: int = Field(30 * 60, gt=0)
    # The session cookie is sent over HTTPS only. Browsers treat http://localhost as
    # secure, so local runs work; a plain-HTTP deployment on another name must say false.
    cookie_secure: bool = True
    # Failed logins from one client address, or with one key, before further attempts
    # wait for the window (from the first failure) to end.
    login_max_failures: int = Field(10, ge=1)
    login_window_seconds: int = Field(15 * 60, gt=0)
    # How often the live parts of a page ask for a fresh fragment.
    poll_seconds: int = Field(2, ge=1, le=60)

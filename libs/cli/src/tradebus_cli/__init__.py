"""The `tradebus` command line."""

from __future__ import annotations

from .client import ApiClient
from .errors import ApiError, CliError
from .main import app
from .session import Session
from .settings import CliSettings

__all__ = ["ApiClient", "ApiError", "CliError", "CliSettings", "Session", "app"]

"""Fixtures of the console's route tests: the console over a fake operator API."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from .fakes import FakeDb, FakeOperatorApi, console_app


@pytest.fixture
async def api() -> FakeOperatorApi:
    return FakeOperatorApi()


@pytest.fixture
async def console(api: FakeOperatorApi) -> AsyncIterator[tuple[httpx.AsyncClient, FakeDb]]:
    app, db = console_app(api)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client, db

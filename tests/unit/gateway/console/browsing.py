"""Browsing the console in tests: log in through its form, read the CSRF token a page carries."""

from __future__ import annotations

import re

import httpx


def token_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


async def login(client: httpx.AsyncClient, key: str) -> httpx.Response:
    form = await client.get("/console/login")
    return await client.post(
        "/console/login", data={"api_key": key, "csrf_token": token_of(form.text)}
    )

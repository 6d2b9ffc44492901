"""A headless Chromium for browser tests, driven by Playwright.

The browser is the distribution's (scripts/ensure-browser.sh installs it when missing);
Playwright's own browser download is never used. Pages are checked offline: every
request that leaves 127.0.0.1 is aborted and recorded, so a test can assert that a page
needs nothing from the internet. Import the `browser` fixture (one Chromium per session)
and open an `offline_page(browser)` per test:

    from tests.support.browser import browser, offline_page  # noqa: F401  (fixture)

    async def test_page(browser):  # noqa: F811
        async with offline_page(browser) as page:
            await page.goto(url)
            assert page.outside == [] and page.errors == []
"""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, Request, Route, async_playwright

ROOT = Path(__file__).resolve().parents[2]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def chromium_path() -> str:
    """The Chromium binary, installed by scripts/ensure-browser.sh if needed; fails clearly."""
    done = subprocess.run(
        [str(ROOT / "scripts" / "ensure-browser.sh")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        pytest.fail(f"no headless Chromium for browser tests:\n{done.stderr}", pytrace=False)
    return done.stdout.strip().splitlines()[-1]


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser() -> AsyncIterator[Browser]:
    executable = chromium_path()
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=executable,
            headless=True,
            # Containers and CI run as root without a usable sandbox or large /dev/shm.
            args=["--no-sandbox", "--disable-dev-shm-usage"],
        )
        try:
            yield launched
        finally:
            await launched.close()


@dataclass
class OfflinePage:
    page: Page
    outside: list[str] = field(default_factory=list)  # requests that tried to leave
    errors: list[str] = field(default_factory=list)  # console errors, page errors, failures

    def __getattr__(self, name: str) -> object:
        return getattr(self.page, name)


@asynccontextmanager
async def offline_page(browser: Browser) -> AsyncIterator[OfflinePage]:
    context = await browser.new_context()
    page = await context.new_page()
    offline = OfflinePage(page)

    async def only_local(route: Route, request: Request) -> None:
        host = urlsplit(request.url).hostname
        if request.url.startswith(("data:", "about:")) or host in LOCAL_HOSTS:
            await route.continue_()
        else:
            offline.outside.append(request.url)
            await route.abort()

    await context.route("**/*", only_local)
    page.on("console", lambda m: offline.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: offline.errors.append(str(e)))
    page.on(
        "requestfailed",
        lambda r: (
            offline.errors.append(f"{r.url}: {r.failure}") if r.url not in offline.outside else None
        ),
    )
    try:
        yield offline
    finally:
        await context.close()

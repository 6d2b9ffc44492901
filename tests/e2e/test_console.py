"""The operator console in a real browser (Debian's Chromium, driven by Playwright) over a
running stack: a tenant key is refused and an operator key logs in; a task's progress moves
on the tasks page; a document that cannot be fetched is parked and appears on the parking
page, is replayed from the page once its site is back, and its task succeeds. Nothing is
reloaded by hand: the live parts poll. Every page is screenshotted (the directory is
printed) and no request leaves 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import re
import tempfile
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, expect

from tests.support.browser import ROOT, OfflinePage, browser, offline_page  # noqa: F401
from tests.support.document_site import document_site
from tests.support.stack import isolated_stack

pytestmark = pytest.mark.e2e

TENANT_KEY = "tb_e2e_console_tenant_" + uuid.uuid4().hex
OPERATOR_KEY = "tb_e2e_console_operator_" + uuid.uuid4().hex
LOT = "omnirag-ingest.ingest.dlq"
DOCS = ROOT / "samples" / "documents"
ARTIFACTS = ROOT / ".run" / "artifacts" / "console"
# Attacker-controlled text reaches the parking page (a parked body): shown, never run.
HOSTILE_TITLE = '<img src="/console/static/pwned.png" onerror="alert(1)"> corrupt'
# A tab hidden as browsers report it; console.js counts the polls it cancels.
HIDE_TAB = """() => {
  window.cancelledPolls = 0; window.sentPolls = 0;
  window.addEventListener("htmx:beforeRequest", (e) => {
    if (e.detail.elt.id !== "live") return;
    if (e.defaultPrevented) window.cancelledPolls++; else window.sentPolls++;
  });
  Object.defineProperty(document, "hidden", {configurable: true, get: () => true});
  Object.defineProperty(document, "visibilityState", {configurable: true, get: () => "hidden"});
  document.dispatchEvent(new Event("visibilitychange"));
}"""
SHOW_TAB = """() => {
  delete document.hidden; delete document.visibilityState;
  document.dispatchEvent(new Event("visibilitychange"));
}"""
LIVE = 90_000  # ms: how long a live part may take to show a change (polls every 2 s)
STEP = 20_000  # ms: a page answering after a click, on a loaded 2-core machine


def long_text(words: int) -> str:
    sentences = [
        f"Clause {i} sets the delivery window for shipment lot {i * 7} and a penalty of "
        f"{i % 9 + 1} percent per week of delay."
        for i in range(words // 20)
    ]
    return "\n\n".join(" ".join(sentences[i : i + 4]) for i in range(0, len(sentences), 4))


async def shot(page: OfflinePage, name: str) -> None:
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


async def task_status(api: httpx.AsyncClient, task_id: str, wanted: set[str]) -> dict[str, Any]:
    async with asyncio.timeout(120):
        while True:
            task = (await api.get(f"/v1/tasks/{task_id}")).json()
            if task["status"] in wanted:
                return task
            await asyncio.sleep(0.2)


@pytest.mark.timeout(600)
async def test_operator_console_in_a_browser(browser: Browser) -> None:  # noqa: F811
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    print(f"\nconsole screenshots: {ARTIFACTS}")
    env = {
        "TRADEBUS_BOOTSTRAP_API_KEY": TENANT_KEY,
        "TRADEBUS_BOOTSTRAP_OPERATOR_KEY": OPERATOR_KEY,
        "TRADEBUS_OMNIRAG_INGEST_FETCH_ALLOW_NETWORKS": "127.0.0.1/32",
        # A fetch that keeps failing is parked after two quick attempts.
        "TRADEBUS_BUS_MAX_ATTEMPTS": "2",
        "TRADEBUS_BUS_RETRY_BASE_SECONDS": "1",
        # Many small embed batches, so progress has steps to show.
        "TRADEBUS_OMNIRAG_INGEST_EMBED_BATCH_SIZE": "4",
        "TRADEBUS_OMNIRAG_INGEST_CHUNK_MAX_TOKENS": "64",
        "TRADEBUS_OMNIRAG_INGEST_CHUNK_OVERLAP_TOKENS": "8",
        "TRADEBUS_OMNIRAG_EMBED_PREFETCH": "1",
        "TRADEBUS_OMNIRAG_EMBED_CONCURRENCY": "1",
    }
    logs = Path(tempfile.mkdtemp(prefix="tradebus-e2e-console-"))
    with document_site(b"Incoterms: FOB moves the risk to the buyer at the ship's rail.") as site:
        async with (
            isolated_stack(
                "e2e-console",
                base_port=19_760,  # other e2e stacks: 18_100 .. 19_650
                logs=logs,
                env=env,
                services=[
                    ("gateway", "gateway"),
                    ("omnirag-ingest", "omnirag-ingest"),
                    ("omnirag-embed", "omnirag-embed"),
                ],
            ) as stack,
            httpx.AsyncClient(
                base_url=stack.processes["gateway"].url,
                headers={"Authorization": f"Bearer {TENANT_KEY}"},
                timeout=30,
            ) as api,
            offline_page(browser) as page,
        ):
            console = stack.processes["gateway"].url + "/console"
            navigations: list[str] = []
            page.on(
                "framenavigated",
                lambda frame: navigations.append(frame.url) if frame == page.main_frame else None,
            )

            # A tenant key is refused; an operator key opens the console.
            await page.goto(console + "/login")
            await page.fill("#api_key", TENANT_KEY)
            await page.click("button[type=submit]")
            await expect(page.locator(".error")).to_contain_text(
                "A tenant key cannot open", timeout=STEP
            )
            await shot(page, "01-login-refused")
            # The refusal is a 403 document, which Chromium reports as a console error.
            assert all("status of 403" in e for e in page.errors), page.errors
            page.errors.clear()
            await page.fill("#api_key", OPERATOR_KEY)
            await page.click("button[type=submit]")
            await page.wait_for_url(console + "/overview")
            await expect(page.locator("table.queues")).to_contain_text(
                "omnirag-ingest.ingest", timeout=STEP
            )
            await shot(page, "02-overview")

            # A hidden tab sends no polls (each one its timer fires is cancelled: wait for
            # two), and one goes out as soon as the tab shows again.
            await page.evaluate(HIDE_TAB)
            await page.wait_for_function("() => window.cancelledPolls >= 2", timeout=STEP)
            assert await page.evaluate("window.sentPolls") == 0

            def is_poll(request: Any) -> bool:
                return "/console/overview" in request.url and "hx-request" in request.headers

            async with page.expect_request(is_poll, timeout=STEP):
                await page.evaluate(SHOW_TAB)

            # The session ends elsewhere (another tab logs out): the next poll is a 401,
            # polling stops and the page goes to the login, which brings it back here.
            other = await page.context.new_page()
            await other.goto(console + "/overview")
            await other.click("text=Log out")
            await other.wait_for_url(console + "/login")
            await other.close()
            await page.wait_for_url(re.compile(re.escape(f"{console}/login?next=")), timeout=LIVE)
            # (Chromium reports the 401 poll, and htmx its response error, as console errors)
            assert all("401" in e or "responseError" in e for e in page.errors), page.errors
            page.errors.clear()
            await page.fill("#api_key", OPERATOR_KEY)
            await page.click("button[type=submit]")
            await page.wait_for_url(console + "/overview")

            # Progress moves on the tasks page while it stays loaded.
            await stack.stop("omnirag-embed")  # the batches wait: the task starts at 0/N
            accepted = await api.post(
                "/v1/rag/documents", json={"title": "Long", "text": long_text(3000)}
            )
            assert accepted.status_code == 202, accepted.text
            long_task = accepted.json()["task_id"]
            await page.goto(console + "/tasks")
            loaded = len(navigations)
            progress = page.locator(f'tr[data-task-id="{long_task}"] .progress-text')
            await expect(progress).to_have_text(re.compile(r"^0/[1-9]\d*$"), timeout=LIVE)
            total = (await progress.inner_text()).split("/")[1]
            await shot(page, "03-tasks-waiting")
            await stack.start("omnirag-embed")
            await expect(progress).to_have_text(f"{total}/{total}", timeout=LIVE)
            await expect(page.locator(f'tr[data-task-id="{long_task}"] .badge')).to_have_text(
                "succeeded", timeout=LIVE
            )
            assert len(navigations) == loaded, navigations
            await shot(page, "04-tasks-done")

            # Bad documents are parked and appear on the parking page by themselves.
            await page.goto(console + "/parking")
            loaded = len(navigations)
            corrupt = await api.post(
                "/v1/rag/documents",
                files={
                    "file": ("corrupt.pdf", (DOCS / "corrupt.pdf").read_bytes(), "application/pdf")
                },
                data={"title": HOSTILE_TITLE, "metadata": json.dumps({})},
            )
            assert corrupt.status_code == 202, corrupt.text
            flaky = await api.post(
                "/v1/rag/documents", json={"title": "FOB", "url": site.url("fob.txt")}
            )
            assert flaky.status_code == 202, flaky.text
            flaky_task = flaky.json()["task_id"]
            lot = page.locator(f'section[data-lot="{LOT}"]')
            await expect(lot).to_contain_text("retries_exhausted", timeout=LIVE)
            await expect(lot).to_contain_text("permanent", timeout=LIVE)
            assert len(navigations) == loaded, navigations
            await task_status(api, flaky_task, {"failed"})  # a task always ends
            await shot(page, "05-parking")

            # The lot's messages: failure headers and body, as text; replay the selection.
            await lot.locator("h2 a").click()
            await page.wait_for_url(re.compile(re.escape(f"{console}/parking/{LOT}")))
            row = page.locator(f'tr[data-task-id="{flaky_task}"]')
            await expect(row).to_contain_text("retries_exhausted", timeout=STEP)
            await row.locator("summary").click()
            await expect(row.locator("pre.headers")).to_contain_text("503", timeout=STEP)
            hostile = page.locator("tr", has_text="permanent").locator("pre.body")
            await expect(hostile).to_contain_text(HOSTILE_TITLE.replace('"', '\\"'), timeout=STEP)
            assert await page.locator("main img").count() == 0
            await shot(page, "06-lot")
            site.up = True
            await row.locator("input[type=checkbox]").check()
            await page.click("text=Replay selected")
            await expect(page.locator(".notice")).to_have_text(
                "Replayed 1 message(s).", timeout=STEP
            )

            # Its task is revived and succeeds, live on the task page.
            await page.goto(f"{console}/tasks/{flaky_task}")
            loaded = len(navigations)
            await expect(page.locator("#task-status")).to_have_text("succeeded", timeout=LIVE)
            assert len(navigations) == loaded, navigations
            await expect(page.locator("ol.timeline")).to_contain_text("failed", timeout=STEP)
            await shot(page, "07-task")
            assert (await task_status(api, flaky_task, {"succeeded"}))["status"] == "succeeded"
            assert 200 in site.statuses and 503 in site.statuses

            # The remaining pages; the audit log has the login and the replay.
            for number, name in enumerate(("tenants", "webhooks", "topology", "audit"), 8):
                await page.goto(f"{console}/{name}")
                await expect(page.locator("main h1")).to_be_visible(timeout=STEP)
                await shot(page, f"{number:02d}-{name}")
            audit = page.locator("table.audit")
            await expect(audit).to_contain_text("console.login", timeout=STEP)
            await expect(audit).to_contain_text("parking.replay", timeout=STEP)
            await page.set_viewport_size({"width": 390, "height": 844})
            await page.goto(console + "/parking")
            await shot(page, "12-parking-phone")

            # Logging out ends the session.
            await page.set_viewport_size({"width": 1280, "height": 800})
            await page.click("text=Log out")
            await page.wait_for_url(console + "/login")
            await page.goto(console + "/overview")
            await page.wait_for_url(re.compile(re.escape(f"{console}/login?next=")))

            assert page.outside == [], page.outside
            assert page.errors == [], page.errors

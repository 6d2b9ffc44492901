"""The contract as a downstream team meets it on a running gateway: /asyncapi.json is the
committed document, the schemas its `$ref`s name resolve against the same server, the
official AsyncAPI parser accepts the served document, and /asyncapi is a page that a
headless browser renders with no request leaving the machine."""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser

from tests.support.browser import browser, offline_page  # noqa: F401  (fixture)
from tests.support.node import ASYNCAPI_CHECK, ensure_packages, node
from tests.support.stack import isolated_stack
from tradebus_contracts import REGISTRY, MessageKind

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(240)
async def test_the_gateway_serves_the_contract_and_a_page_that_works_offline(
    browser: Browser,  # noqa: F811
) -> None:
    logs = Path(tempfile.mkdtemp(prefix="tradebus-e2e-contract-"))
    async with (
        isolated_stack(
            "e2e-contract",
            base_port=19_100,
            logs=logs,
            env={},
            services=[("gateway", "gateway")],
        ) as stack,
        httpx.AsyncClient(base_url=stack.processes["gateway"].url, timeout=10) as http,
    ):
        base = stack.processes["gateway"].url
        # No API key: the contract is public, like /openapi.json.
        served = await http.get("/asyncapi.json")
        assert served.status_code == 200
        document = served.json()
        assert document == json.loads((ROOT / "contracts" / "asyncapi.json").read_text())
        schema_ref = document["components"]["schemas"]["omnirag_document_indexed_v1"]
        schema = await http.get(schema_ref["schema"]["$ref"])  # relative to /asyncapi.json
        assert schema.json()["title"] == "omnirag.document.indexed.v1"

        await asyncio.to_thread(ensure_packages, ASYNCAPI_CHECK)
        parser = await asyncio.create_subprocess_exec(
            node(),
            str(ASYNCAPI_CHECK / "validate.mjs"),
            f"{base}/asyncapi.json",
            stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await asyncio.wait_for(parser.communicate(), 120)
        result = json.loads(out)
        assert parser.returncode == 0 and result["ok"], result["diagnostics"]
        assert result["summary"]["messages"] == len(REGISTRY)

        async with offline_page(browser) as page:
            response = await page.goto(f"{base}/asyncapi")
            assert response is not None and response.status == 200
            assert "tradebus" in await page.title()
            shown = await page.locator("article h3").all_inner_texts()
            channels = [m.message_type for m in REGISTRY if m.kind is not MessageKind.REPLY]
            assert sorted(shown) == sorted(channels)
            # Styles are applied (inline, nothing fetched): tables have borders.
            border = await page.locator("table td").first.evaluate(
                "cell => getComputedStyle(cell).borderTopStyle"
            )
            assert border == "solid"
            indexed = page.locator('article[id="omnirag.document.indexed.v1"]')
            assert "chunk_count" in await indexed.inner_text()
            await page.screenshot(path=str(logs / "asyncapi.png"), full_page=True)
            # The links a reader follows work on the same server.
            await indexed.get_by_role(
                "link", name="schemas/omnirag.document.indexed.v1.json"
            ).click()
            await page.wait_for_url("**/schemas/omnirag.document.indexed.v1.json")
            assert '"chunk_count"' in await page.content()
            assert page.outside == []
            assert page.errors == []

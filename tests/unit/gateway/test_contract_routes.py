"""The gateway serves the message contract without a key: the AsyncAPI document (the
committed file, byte for byte in content), the schemas its `$ref`s point at, and a
page rendered from both that names every message and field."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest

from tradebus_contracts import REGISTRY, MessageKind
from tradebus_gateway.app import create_app
from tradebus_gateway.settings import GatewaySettings

CONTRACTS = Path(__file__).resolve().parents[3] / "contracts"


def _client() -> httpx.AsyncClient:
    # No lifespan: these routes need neither the broker nor the database.
    app = create_app(GatewaySettings())
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw")


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.external: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.ids.add(str(values["id"]))
        if tag == "a" and values.get("href"):
            self.links.append(str(values["href"]))
        if tag in {"script", "link", "img", "iframe"} or "src" in values:
            self.external.append(f"{tag} {values}")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


async def test_asyncapi_json_is_the_committed_document_and_needs_no_key() -> None:
    async with _client() as client:
        response = await client.get("/asyncapi.json")
    assert response.status_code == 200
    assert response.json() == json.loads((CONTRACTS / "asyncapi.json").read_text())


async def test_every_schema_the_document_refers_to_is_served() -> None:
    async with _client() as client:
        for model in REGISTRY:
            response = await client.get(f"/schemas/{model.message_type}.json")
            assert response.status_code == 200, model.message_type
            assert response.headers["content-type"].startswith("application/schema+json")
            committed = CONTRACTS / "schemas" / f"{model.message_type}.json"
            assert response.json() == json.loads(committed.read_text())
        missing = await client.get("/schemas/no.such.type.v1.json")
    assert missing.status_code == 404
    assert missing.json()["code"] == "unknown_message_type"


async def test_the_page_lists_every_message_and_field_and_loads_nothing_else() -> None:
    async with _client() as client:
        response = await client.get("/asyncapi")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = _Page()
    page.feed(response.text)
    text = " ".join(page.text)
    assert page.external == []  # styles inline, no scripts: readable offline
    for model in REGISTRY:
        if model.kind is MessageKind.REPLY:
            assert model.message_type in text  # shown under its request
        else:
            assert model.message_type in page.ids
        for field in model.model_fields:
            assert field in text, (model.message_type, field)
    assert "cloudEvents:tenantid" in text
    # Every in-page link has its target; the others are the served schemas.
    for href in page.links:
        if href.startswith("#"):
            assert href[1:] in page.ids, href
        else:
            assert href == "asyncapi.json" or href.startswith("schemas/"), href


async def test_the_page_shows_field_types_and_constraints() -> None:
    async with _client() as client:
        text = (await client.get("/asyncapi")).text
    article = text[text.index('<article id="omnirag.document.indexed.v1">') :]
    article = article[: article.index("</article>")]
    assert "<td><code>chunk_count</code></td><td>integer</td><td>yes</td>" in article
    assert "≥ 0" in article
    assert "string (date-time)" in article
    assert 'href="schemas/omnirag.document.indexed.v1.json"' in article


def test_date_time_query_parameters_take_iso_text_only() -> None:
    from pydantic import TypeAdapter

    from tradebus_gateway.api.models import IsoDateTime

    adapter: TypeAdapter[IsoDateTime] = TypeAdapter(IsoDateTime)
    assert adapter.validate_python("2026-11-01T00:00:00Z").year == 2026
    for bad in ("0.5", "1700000000", "tomorrow"):
        with pytest.raises(ValueError):
            adapter.validate_python(bad)

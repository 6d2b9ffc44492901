"""The up-front webhook URL check: refuse inside addresses, accept what cannot be judged
yet (delivery judges it again)."""

from __future__ import annotations

import asyncio

from tradebus_gateway.webhook_urls import WebhookUrlCheck


def resolving(*addresses: str):
    async def resolve(host: str, port: int) -> list[str]:
        return list(addresses)

    return resolve


async def test_a_name_with_one_inside_address_among_public_ones_is_refused() -> None:
    check = WebhookUrlCheck(resolver=resolving("93.184.216.34", "10.0.0.7"))
    reason = await check.refusal("https://hooks.example.com/x")
    assert reason is not None and "10.0.0.7" in reason


async def test_a_public_name_is_accepted() -> None:
    check = WebhookUrlCheck(resolver=resolving("93.184.216.34"))
    assert await check.refusal("https://hooks.example.com/x") is None


async def test_an_allowlisted_network_is_accepted() -> None:
    check = WebhookUrlCheck(["10.20.0.0/16"], resolver=resolving("10.20.3.4"))
    assert await check.refusal("http://erp.corp/x") is None
    assert await WebhookUrlCheck(["10.20.0.0/16"]).refusal("http://10.21.0.1/x") is not None


async def test_metadata_is_refused_by_literal_address() -> None:
    reason = await WebhookUrlCheck().refusal("http://169.254.169.254/latest/meta-data")
    assert reason is not None and "metadata" in reason


async def test_slow_or_failing_dns_does_not_refuse() -> None:
    async def slow(host: str, port: int) -> list[str]:
        await asyncio.sleep(10)
        return ["10.0.0.1"]

    async def failing(host: str, port: int) -> list[str]:
        raise OSError("Name or service not known")

    assert await WebhookUrlCheck(timeout_seconds=0.05, resolver=slow).refusal("http://a.b/") is None
    assert await WebhookUrlCheck(resolver=failing).refusal("http://a.b/") is None


async def test_other_schemes_are_refused() -> None:
    assert await WebhookUrlCheck().refusal("ftp://files.example.com/x") is not None

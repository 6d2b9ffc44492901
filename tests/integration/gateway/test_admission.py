"""End-to-end admission against the real database: the backlog is every task accepted and
not finished; a tenant over its share is refused while another is admitted, and a full
platform refuses everyone; refused requests leave no task behind. Nothing consumes the
ingest queue here, so accepted tasks stay unfinished."""

from __future__ import annotations

import asyncio

import pytest

from .conftest import KEY_GLOBEX

pytestmark = pytest.mark.integration

GLOBEX = {"Authorization": f"Bearer {KEY_GLOBEX}"}


async def sampled(gateway) -> None:
    """Until the first sample, admission has nothing to judge by and admits."""
    async with asyncio.timeout(15):
        while not gateway.state.admission.sampled:
            await asyncio.sleep(0.02)


async def submit(gateway, headers: dict[str, str] | None = None):
    return await gateway.api.post(
        "/v1/rag/documents", json={"title": "t", "text": "FOB terms."}, headers=headers or {}
    )


async def test_a_tenant_over_its_share_is_refused_while_another_is_admitted(
    make_gateway,
) -> None:
    gateway = await make_gateway(
        ingest_backlog_floor=20, ingest_tenant_share=0.25, admission_sample_seconds=0.05
    )
    await sampled(gateway)
    acme = [(await submit(gateway)).status_code for _ in range(8)]
    # its share is a quarter of 20; a submission accepted while a sample runs may count
    # twice until the next one, so the share can be reached one early, never passed
    admitted = acme.count(202)
    assert 4 <= admitted <= 5 and acme == [202] * admitted + [429] * (8 - admitted), acme
    refused = await submit(gateway)
    assert refused.json()["code"] == "tenant_over_quota"
    assert int(refused.headers["Retry-After"]) >= 1
    assert "documents accepted and unfinished" in refused.json()["message"]

    globex = [(await submit(gateway, GLOBEX)).status_code for _ in range(3)]
    assert globex == [202, 202, 202]  # admitted while acme is refused
    tasks = await gateway.state.db["tasks"].count_documents({"kind": "rag.ingest"})
    assert tasks == admitted + 3  # nothing was created for a refused request


async def test_a_full_platform_refuses_every_tenant(make_gateway) -> None:
    gateway = await make_gateway(
        ingest_backlog_floor=4, ingest_tenant_share=1.0, admission_sample_seconds=0.05
    )
    await sampled(gateway)
    codes = [(await submit(gateway)).status_code for _ in range(6)]
    assert 3 <= codes.count(202) <= 4 and codes[-1] == 429, codes
    full = await submit(gateway, GLOBEX)
    assert full.status_code == 429 and full.json()["code"] == "overloaded"


async def test_quotas_from_settings_and_other_replicas_submissions_count(make_gateway) -> None:
    settings = {
        "ingest_backlog_floor": 100,
        "ingest_tenant_quotas": {"acme": 3},
        "admission_sample_seconds": 0.05,
    }
    first, second = await make_gateway(**settings), await make_gateway(**settings)
    await sampled(first)
    assert [(await submit(first)).status_code for _ in range(2)] == [202, 202]
    # the other replica counts them once it has sampled the shared backlog again: one
    # more of its own fits the quota of 3, the next does not
    second.state.admission.sampled = False
    await sampled(second)
    assert (await submit(second)).status_code == 202
    over = await submit(second)
    assert over.status_code == 429 and over.json()["code"] == "tenant_over_quota"
    assert (await submit(second, GLOBEX)).status_code == 202

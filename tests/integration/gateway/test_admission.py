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


async def submit(gateway, headers: dict[str, str] | None = None):
    return await gateway.api.post(
        "/v1/rag/documents", json={"title": "t", "text": "FOB terms."}, headers=headers or {}
    )


async def test_a_tenant_over_its_share_is_refused_while_another_is_admitted(
    make_gateway,
) -> None:
    gateway = await make_gateway(
        ingest_backlog_floor=6, ingest_tenant_share=0.5, admission_sample_seconds=0.05
    )
    await asyncio.sleep(0.2)  # the sampler has looked
    acme = [(await submit(gateway)).status_code for _ in range(4)]
    assert acme == [202, 202, 202, 429]  # its share: half of 6
    refused = await submit(gateway)
    assert refused.json()["code"] == "tenant_over_quota"
    assert int(refused.headers["Retry-After"]) >= 1
    assert "3 documents accepted and unfinished" in refused.json()["message"]

    globex = [(await submit(gateway, GLOBEX)).status_code for _ in range(3)]
    assert globex == [202, 202, 202]  # admitted while acme is refused
    # the platform is now at its floor: everyone waits
    full = await submit(gateway, GLOBEX)
    assert full.status_code == 429 and full.json()["code"] == "overloaded"

    tasks = await gateway.state.db["tasks"].count_documents({"kind": "rag.ingest"})
    assert tasks == 6  # nothing was created for a refused request


async def test_quotas_from_settings_and_other_replicas_submissions_count(make_gateway) -> None:
    first = await make_gateway(
        ingest_backlog_floor=100,
        ingest_tenant_quotas={"acme": 2},
        admission_sample_seconds=0.05,
    )
    second = await make_gateway(
        ingest_backlog_floor=100,
        ingest_tenant_quotas={"acme": 2},
        admission_sample_seconds=0.05,
    )
    assert (await submit(first)).status_code == 202
    assert (await submit(first)).status_code == 202
    await asyncio.sleep(0.3)  # the other replica samples the shared backlog
    over = await submit(second)
    assert over.status_code == 429 and over.json()["code"] == "tenant_over_quota"
    assert (await submit(second, GLOBEX)).status_code == 202

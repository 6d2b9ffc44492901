"""`tradebus` as an operator and a tenant use it: the real command (a subprocess) against a
running stack. Bootstrap straight to MongoDB, then tenants, keys (a revoked key is then
refused), ingestion with progress, tasks, the parking lot after a bad document, topology
and schedules, each read with `--json` parsed."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.stack import Stack, isolated_stack

pytestmark = pytest.mark.e2e

DOCS = Path(__file__).resolve().parents[2] / "samples" / "documents"
LOT = "omnirag-ingest.ingest.dlq"


@dataclass
class Ran:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


@dataclass
class Cli:
    """Runs `python -m tradebus_cli` with the stack's URL and database in its environment."""

    url: str
    env: dict[str, str]

    async def __call__(self, *args: str, key: str | None = None, timeout: float = 120) -> Ran:
        env = {**os.environ, **self.env, "TRADEBUS_URL": self.url}
        env.pop("TRADEBUS_API_KEY", None)
        if key:
            env["TRADEBUS_API_KEY"] = key
        done = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "tradebus_cli", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        return Ran(done.returncode, done.stdout, done.stderr)


@dataclass
class Setup:
    stack: Stack
    cli: Cli
    operator_key: str
    tenant: str
    tenant_key: str


async def until(check: Any, what: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := await check():
            return found
        await asyncio.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
async def setup(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Setup]:
    async with isolated_stack(
        "e2e-cli",
        base_port=19_850,  # other e2e stacks: 18_100 .. 19_770
        logs=tmp_path_factory.mktemp("cli-stack-logs"),
        # A revoked key stops working within the key directory's reload interval.
        env={"TRADEBUS_GATEWAY_API_KEY_CACHE_SECONDS": "1"},
        services=[
            ("gateway", "gateway"),
            ("omnirag-ingest", "omnirag-ingest"),
            ("omnirag-embed", "omnirag-embed"),
        ],
    ) as stack:
        gateway = stack.processes["gateway"]
        cli = Cli(
            gateway.url,
            {"MONGODB_DATABASE": stack.database, "RABBITMQ_URL": stack.env["RABBITMQ_URL"]},
        )
        # Bootstrap without any operator key: straight to the database.
        made = await cli("keys", "create", "--operator", "--local", "--label", "e2e", "--json")
        assert made.code == 0, made.stderr
        operator_key = made.json()["api_key"]
        tenant = f"cli-{uuid.uuid4().hex[:8]}"
        created = await until(
            lambda: _created(cli, tenant, operator_key), "the operator key to be known"
        )
        yield Setup(stack, cli, operator_key, tenant, created["key"]["api_key"])


async def _created(cli: Cli, tenant: str, key: str) -> dict[str, Any] | None:
    ran = await cli("tenants", "create", tenant, "--name", "CLI e2e", "--json", key=key)
    if ran.code != 0:
        assert "401" in ran.stderr, ran.stderr  # the gateway has not loaded the new key yet
        return None
    created: dict[str, Any] = ran.json()
    return created


async def test_tenants_and_keys_and_a_revoked_key_is_refused(setup: Setup) -> None:
    cli, op = setup.cli, setup.operator_key
    listed = await cli("tenants", "list", "--json", key=op)
    assert listed.code == 0, listed.stderr
    mine = next(t for t in listed.json()["items"] if t["id"] == setup.tenant)
    assert mine["name"] == "CLI e2e" and len(mine["keys"]) == 1
    table = await cli("tenants", "list", key=op)
    assert table.code == 0 and setup.tenant in table.stdout

    again = await cli("tenants", "create", setup.tenant, key=op)
    assert again.code == 1 and len(again.stderr.strip().splitlines()) == 1

    extra = await cli(
        "keys", "create", "--tenant", setup.tenant, "--label", "temp", "--json", key=op
    )
    assert extra.code == 0, extra.stderr
    key = extra.json()
    async with httpx.AsyncClient(base_url=setup.cli.url, timeout=10) as http:
        auth = {"Authorization": f"Bearer {key['api_key']}"}
        await until(lambda: _status_is(http, auth, 200), "the new tenant key to work", timeout=30)
        revoked = await cli("keys", "revoke", key["key_id"], "--json", key=op)
        assert revoked.code == 0, revoked.stderr
        assert revoked.json()["revoked_at"]
        await until(lambda: _status_is(http, auth, 401), "the revoked key to be refused")
    refused = await cli("tasks", "list", key=key["api_key"])
    assert refused.code == 1 and "401" in refused.stderr and "Traceback" not in refused.stderr


async def _status_is(http: httpx.AsyncClient, headers: dict[str, str], status: int) -> bool:
    return (await http.get("/v1/tasks", headers=headers)).status_code == status


async def test_ingest_a_folder_then_list_show_watch_and_cancel(
    setup: Setup, tmp_path: Path
) -> None:
    cli = setup.cli
    for name in ("incoterms-2020-overview.md", "supplier-onboarding-checklist.txt"):
        shutil.copy(DOCS / name, tmp_path / name)
    ingested = await cli("ingest", str(tmp_path), "--json", key=setup.tenant_key, timeout=300)
    assert ingested.code == 0, ingested.stderr
    assert "ingesting" in ingested.stderr  # the progress bar
    rows = ingested.json()["items"]
    assert [r["status"] for r in rows] == ["succeeded", "succeeded"]
    task_ids = {r["task_id"] for r in rows}

    listed = await cli("tasks", "list", "--tenant", setup.tenant, "--json", key=setup.operator_key)
    assert listed.code == 0, listed.stderr
    assert task_ids <= {t["id"] for t in listed.json()["items"]}
    own = await cli("tasks", "list", "--json", key=setup.tenant_key)  # the tenant route
    assert own.code == 0 and task_ids <= {t["id"] for t in own.json()["items"]}

    task_id = sorted(task_ids)[0]
    shown = await cli("tasks", "show", task_id, "--json", key=setup.operator_key)
    assert shown.code == 0, shown.stderr
    detail = shown.json()
    assert detail["status"] == "succeeded" and detail["tenant_id"] == setup.tenant
    assert [h["status"] for h in detail["history"]][-1] == "succeeded"

    watched = await cli(
        "tasks",
        "watch",
        "--tenant",
        setup.tenant,
        "--duration",
        "3",
        "--json",
        key=setup.operator_key,
    )
    assert watched.code == 0, watched.stderr
    pages = [json.loads(line) for line in watched.stdout.splitlines()]
    assert pages and all(task_ids <= {t["id"] for t in p["items"]} for p in pages)
    live = await cli("tasks", "watch", "--duration", "3", key=setup.operator_key)
    assert live.code == 0 and task_id in live.stdout

    ended = await cli("tasks", "cancel", task_id, key=setup.operator_key)
    assert ended.code == 1 and "409" in ended.stderr


async def test_cancel_a_queued_task(setup: Setup, tmp_path: Path) -> None:
    """With the ingest worker stopped the task stays queued, so the cancel is not a race."""
    await setup.stack.stop("omnirag-ingest")
    try:
        (tmp_path / "note.md").write_text(f"# Note {uuid.uuid4().hex}\nTo be cancelled.")
        queued = await setup.cli(
            "ingest", str(tmp_path), "--no-wait", "--json", key=setup.tenant_key
        )
        assert queued.code == 0, queued.stderr
        task_id = queued.json()["items"][0]["task_id"]
        cancelled = await setup.cli("tasks", "cancel", task_id, "--json", key=setup.operator_key)
        assert cancelled.code == 0, cancelled.stderr
        assert cancelled.json()["status"] == "cancelled"
    finally:
        await setup.stack.start("omnirag-ingest")


async def test_a_bad_document_is_parked_then_shown_and_replayed(
    setup: Setup, tmp_path: Path
) -> None:
    cli, op = setup.cli, setup.operator_key
    shutil.copy(DOCS / "corrupt.pdf", tmp_path / "corrupt.pdf")
    ingested = await cli("ingest", str(tmp_path), "--json", key=setup.tenant_key, timeout=300)
    assert ingested.code == 1  # a document failed
    [row] = ingested.json()["items"]
    assert row["status"] == "failed" and row["error"]["code"] == "corrupt_document"

    async def parked() -> dict[str, Any] | None:
        ran = await cli("parking", "show", LOT, "--json", key=op)
        assert ran.code == 0, ran.stderr
        return next((m for m in ran.json()["items"] if m["task_id"] == row["task_id"]), None)

    message = await until(parked, "the corrupt document in the parking lot")
    assert message["reason"] == "permanent" and "unreadable PDF" in message["message"]
    lots = await cli("parking", "list", "--json", key=op)
    assert lots.code == 0, lots.stderr
    lot = next(lot for lot in lots.json()["lots"] if lot["queue"] == LOT)
    assert lot["count"] >= 1 and lot["source"] == "omnirag-ingest.ingest"
    table = await cli("parking", "show", LOT, key=op)
    assert table.code == 0 and message["message_id"] in table.stdout

    replayed = await cli("parking", "replay", LOT, "--id", message["message_id"], "--json", key=op)
    assert replayed.code == 0, replayed.stderr
    answer = replayed.json()
    assert (answer["replayed"], answer["limit_reached"]) == (1, False), answer
    assert 0 <= answer["left_in_lot"] < lot["count"]  # the replayed one has left the lot

    refused = await cli("parking", "purge", LOT, "--all", "--yes-i-mean", "other.dlq", key=op)
    assert refused.code == 1 and "nothing purged" in refused.stderr


async def test_topology_verify_and_schedules_list(setup: Setup) -> None:
    verified = await setup.cli("topology", "verify", "--json", key=setup.operator_key)
    report = verified.json()
    assert verified.code == (0 if report["ok"] else 1)
    # This stack runs the ingestion services only: every drift is a service not running.
    absent = ("dealbrain.", "shadowhunter.", "notifier.")
    unexplained = [d for d in report["drift"] if not any(s in d["name"] for s in absent)]
    assert not unexplained, unexplained
    table = await setup.cli("topology", "verify", key=setup.operator_key)
    assert table.code == verified.code and "declared objects checked" in table.stdout
    assert any(d["name"] == "tradebus.events" for d in report["declared"])
    schedules = await setup.cli("schedules", "list", "--json", key=setup.operator_key)
    assert schedules.code == 0, schedules.stderr
    assert isinstance(schedules.json()["items"], list)


async def test_an_unreachable_gateway_is_one_line_and_exit_1(setup: Setup) -> None:
    ran = await Cli("http://127.0.0.1:9", setup.cli.env)("tasks", "list", key="tb_x")
    assert ran.code == 1
    assert ran.stderr.strip().splitlines() == [ran.stderr.strip()]
    assert "cannot reach the gateway" in ran.stderr

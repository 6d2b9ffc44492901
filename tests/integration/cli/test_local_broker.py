"""`tradebus` straight to the broker (what `--local` and `topology declare` do, and what the
old `tradebus-bus` name maps to), as a subprocess against a vhost of the test's own:
declare, verify, show, replay and purge a parking lot."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aio_pika
import pytest

from tradebus_messaging.declare import declare
from tradebus_messaging.failures import H_EXCEPTION_MESSAGE, H_EXCEPTION_TYPE, H_FAULT_REASON
from tradebus_messaging.settings import BusSettings
from tradebus_messaging.topology import endpoint_topology

pytestmark = pytest.mark.integration

QUEUE = "cli-it.work"
LOT = f"{QUEUE}.dlq"
BIN = Path(sys.executable).parent


async def run(amqp_url: str, *args: str, program: str | None = None) -> tuple[int, str, str]:
    command = [str(BIN / program)] if program else [sys.executable, "-m", "tradebus_cli"]
    env = {**os.environ, "RABBITMQ_URL": amqp_url}
    done = await asyncio.to_thread(
        subprocess.run, [*command, *args], env=env, capture_output=True, text=True, timeout=120
    )
    return done.returncode, done.stdout, done.stderr


async def park(channel: aio_pika.abc.AbstractChannel, message_id: str, reason: str) -> None:
    headers: dict[str, Any] = {
        H_FAULT_REASON: reason,
        H_EXCEPTION_TYPE: "ValueError",
        H_EXCEPTION_MESSAGE: f"{message_id} failed",
    }
    message = aio_pika.Message(b"{}", message_id=message_id, headers=headers)
    await channel.default_exchange.publish(message, routing_key=LOT)


async def depth(channel: aio_pika.abc.AbstractChannel, queue: str) -> int:
    declared = await channel.declare_queue(queue, passive=True)
    return int(declared.declaration_result.message_count or 0)


async def test_declare_verify_show_replay_and_purge_without_a_gateway(vhost: str) -> None:
    code, out, err = await run(vhost, "topology", "declare")
    assert (code, out.strip()) == (0, "declared"), err
    settings = BusSettings(url=vhost)
    connection = await aio_pika.connect(vhost)
    async with connection:
        channel = await connection.channel()
        await declare(
            channel,
            endpoint_topology(QUEUE, exchange="", routing_keys=(), levels=settings.delay_levels),
        )
        for message_id, reason in (("m1", "permanent"), ("m2", "permanent"), ("m3", "transient")):
            await park(channel, message_id, reason)

        code, out, err = await run(vhost, "topology", "verify", "--local", "--json")
        assert code == 0, err
        report = json.loads(out)
        assert report["ok"] and report["drift"] == []
        assert any(d["kind"] == "queue" and d["name"] == LOT for d in report["declared"])

        code, out, err = await run(vhost, "parking", "show", QUEUE, "--local", "--json")
        assert code == 0, err
        items = json.loads(out)["items"]
        assert [(m["message_id"], m["reason"]) for m in items] == [
            ("m1", "permanent"),
            ("m2", "permanent"),
            ("m3", "transient"),
        ]
        assert items[0]["message"] == "m1 failed" and items[0]["exception"] == "ValueError"

        code, out, err = await run(
            vhost, "parking", "replay", LOT, "--local", "--id", "m1", "--json"
        )
        assert (code, json.loads(out)) == (0, {"replayed": 1}), err
        deadline = time.monotonic() + 30  # through the delay network's level 0
        while await depth(channel, QUEUE) < 1:
            assert time.monotonic() < deadline, "the replayed message never reached its queue"
            await asyncio.sleep(0.2)

        code, out, err = await run(
            vhost,
            "parking",
            "purge",
            QUEUE,
            "--local",
            "--reason",
            "transient",
            "--yes-i-mean",
            LOT,
            "--json",
        )
        assert (code, json.loads(out)) == (0, {"purged": 1}), err
        assert await depth(channel, LOT) == 1  # m2 is still parked

        # The old name still works: a notice, then the same operation.
        code, out, err = await run(
            vhost, "parking", "list", QUEUE, "--json", program="tradebus-bus"
        )
        assert code == 0, err
        assert err.splitlines()[0].startswith("tradebus-bus is deprecated")
        assert [m["message_id"] for m in json.loads(out)["items"]] == ["m2"]
        code, out, err = await run(
            vhost, "parking", "purge", QUEUE, "--yes", program="tradebus-bus"
        )
        assert code == 0 and "purged 1 message(s)" in out, err
        assert await depth(channel, LOT) == 0


async def test_an_unknown_lot_is_one_line_and_exit_1(vhost: str) -> None:
    code, out, err = await run(vhost, "parking", "show", "no-such-queue", "--local")
    assert code == 1 and out == ""
    assert err.strip().splitlines() == [err.strip()] and "no such parking lot" in err

"""`tradebus parking`, `topology verify` and `schedules list` over the operator API."""

from __future__ import annotations

import json

import pytest

from .fakes import FakeGateway, error, invoke, ok

LOT = "omnirag-ingest.ingest.dlq"
GROUP = {"reason": "permanent", "exception": "ParseError", "count": 2}
LOTS = {"lots": [{"queue": LOT, "source": "omnirag-ingest.ingest", "count": 2, "groups": [GROUP]}]}
PARKED = {
    "message_id": "m1",
    "type": "omnirag.document.ingest.v1",
    "tenant_id": "acme",
    "task_id": "t1",
    "reason": "permanent",
    "exception": "ParseError",
    "message": "not a PDF",
    "parked_at": "2026-12-03T08:00:00Z",
    "attempts": 1,
    "headers": {},
    "body_preview": "{}",
}


def test_parking_list_table_and_json() -> None:
    gateway = FakeGateway()
    gateway.on("GET", "/v1/operator/parking", ok(**LOTS))
    table = invoke(gateway, "parking", "list")
    assert table.exit_code == 0
    row = next(line for line in table.stdout.splitlines() if LOT in line)
    assert "ParseError" in row and "permanent" in row
    assert json.loads(invoke(gateway, "parking", "list", "--json").stdout) == LOTS


@pytest.mark.parametrize("name", [LOT, "omnirag-ingest.ingest"])
def test_parking_show_takes_the_lot_or_its_work_queue(name: str) -> None:
    gateway = FakeGateway()
    gateway.on("GET", f"/v1/operator/parking/{LOT}/messages", ok(items=[PARKED], next_cursor=None))
    table = invoke(gateway, "parking", "show", name, "--reason", "permanent")
    assert table.exit_code == 0 and "m1" in table.stdout and "not a PDF" in table.stdout
    assert gateway.requests[0].url.params["reason"] == "permanent"
    data = json.loads(invoke(gateway, "parking", "show", name, "--json").stdout)
    assert data["items"] == [PARKED]


@pytest.mark.parametrize(
    ("flags", "body"),
    [
        (["--id", "m1", "--id", "m2"], {"message_ids": ["m1", "m2"]}),
        (["--reason", "permanent"], {"reason": "permanent"}),
        (["--all"], {"all": True}),
    ],
)
def test_parking_replay_sends_the_selection(flags: list[str], body: dict[str, object]) -> None:
    gateway = FakeGateway()
    gateway.on("POST", f"/v1/operator/parking/{LOT}/replay", ok(replayed=2))
    result = invoke(gateway, "parking", "replay", LOT, *flags)
    assert result.exit_code == 0 and f"replayed 2 message(s) from {LOT}" in result.stdout
    assert gateway.body(0) == body


def test_parking_replay_says_when_one_call_was_not_enough() -> None:
    gateway = FakeGateway()
    answer = ok(replayed=1000, limit_reached=True, left_in_lot=5)
    gateway.on("POST", f"/v1/operator/parking/{LOT}/replay", answer)
    result = invoke(gateway, "parking", "replay", LOT, "--all")
    assert result.exit_code == 0 and "run it again for the rest" in result.stdout


@pytest.mark.parametrize("flags", [[], ["--all", "--reason", "x"]])
def test_parking_replay_needs_exactly_one_selection(flags: list[str]) -> None:
    gateway = FakeGateway()
    assert invoke(gateway, "parking", "replay", LOT, *flags).exit_code == 2
    assert gateway.requests == []


def test_parking_purge_asks_for_the_lot_name() -> None:
    gateway = FakeGateway()
    gateway.on("POST", f"/v1/operator/parking/{LOT}/purge", ok(purged=2))
    typed = invoke(gateway, "parking", "purge", LOT, "--all", "--json", input=f"{LOT}\n")
    assert typed.exit_code == 0, typed.output
    # CliRunner echoes typed input to stdout; a terminal does not.
    assert json.loads(typed.stdout.removeprefix(f" {LOT}\n")) == {"purged": 2}
    assert f"type {LOT} to purge" in typed.stderr
    assert gateway.body(0) == {"confirm": LOT, "all": True}
    wrong = invoke(gateway, "parking", "purge", LOT, "--all", input="something else\n")
    assert wrong.exit_code == 1 and "nothing purged" in wrong.stderr
    assert len(gateway.requests) == 1


def test_parking_purge_with_yes_i_mean() -> None:
    gateway = FakeGateway()
    gateway.on("POST", f"/v1/operator/parking/{LOT}/purge", ok(purged=1))
    result = invoke(gateway, "parking", "purge", LOT, "--id", "m1", "--yes-i-mean", LOT)
    assert result.exit_code == 0 and f"purged 1 message(s) from {LOT}" in result.stdout
    assert gateway.body(0) == {"confirm": LOT, "message_ids": ["m1"]}
    other = invoke(gateway, "parking", "purge", LOT, "--all", "--yes-i-mean", "other.dlq")
    assert other.exit_code == 1 and len(gateway.requests) == 1


def test_a_refused_purge_is_the_servers_message() -> None:
    gateway = FakeGateway()
    gateway.on(
        "POST", f"/v1/operator/parking/{LOT}/purge", error(422, "confirm_mismatch", "type it")
    )
    result = invoke(gateway, "parking", "purge", LOT, "--all", "--yes-i-mean", LOT)
    assert result.exit_code == 1 and "422 confirm_mismatch: type it" in result.stderr


def test_topology_verify_exit_code_follows_drift() -> None:
    gateway = FakeGateway()
    clean = {
        "declared": [{"kind": "exchange", "name": "tradebus.events", "arguments": {}}],
        "drift": [],
        "ok": True,
    }
    drift = {"kind": "queue", "name": "a.b", "problem": "missing", "expected": {}, "actual": None}
    gateway.on(
        "GET", "/v1/operator/topology", ok(**clean), ok(**{**clean, "drift": [drift], "ok": False})
    )
    good = invoke(gateway, "topology", "verify", "--json")
    assert good.exit_code == 0 and json.loads(good.stdout) == clean
    bad = invoke(gateway, "topology", "verify")
    assert bad.exit_code == 1 and "a.b" in bad.stdout and "1 drift" in bad.stdout


def test_schedules_list() -> None:
    gateway = FakeGateway()
    schedule = {
        "name": "kb-check",
        "cron": "30 2 * * *",
        "timezone": "UTC",
        "command": "omnirag.kb.check.v1",
        "enabled": True,
        "last_run": {"slot": "2026-12-02T02:30:00Z", "status": "published"},
        "next_run": "2026-12-03T02:30:00Z",
    }
    gateway.on("GET", "/v1/schedules", ok(items=[schedule], catch_up_seconds=60))
    table = invoke(gateway, "schedules", "list")
    assert table.exit_code == 0 and "kb-check" in table.stdout and "published" in table.stdout
    assert json.loads(invoke(gateway, "schedules", "list", "--json").stdout)["items"] == [schedule]


def test_parked_text_cannot_drive_the_terminal() -> None:
    """A sender's text reaches `parking show`: escape sequences and rich markup are shown
    as text, never sent to the terminal or interpreted."""
    gateway = FakeGateway()
    hostile = {
        **PARKED,
        "message": "\x1b]0;owned\x07\x1b[2J[link=https://evil.example]click[/link]\rok",
    }
    gateway.on("GET", f"/v1/operator/parking/{LOT}/messages", ok(items=[hostile]))
    shown = invoke(gateway, "parking", "show", LOT)
    assert shown.exit_code == 0, shown.stdout
    assert "\x1b" not in shown.stdout and "\r" not in shown.stdout and "\x07" not in shown.stdout
    flat = "".join(shown.stdout.split())
    assert "\\u001b]0;owned\\u0007" in flat and "[link=https://evil.example]" in flat

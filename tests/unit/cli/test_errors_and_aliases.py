"""Exit codes and one-line errors; `--url`/`--key` and the environment; the deprecated
`tradebus-bus` / `tradebus-gateway` names mapped onto `tradebus`."""

from __future__ import annotations

import httpx
import pytest
from typer.testing import CliRunner

from tradebus_cli import CliSettings, Session, aliases, app

from .fakes import FakeGateway, invoke, ok


def test_an_unreachable_gateway_is_one_line_and_exit_1() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    session = Session(
        CliSettings(url="http://gw", api_key="k"), transport=httpx.MockTransport(refuse)
    )
    result = CliRunner().invoke(app, ["schedules", "list"], obj=session)
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "error: cannot reach the gateway at http://gw: connection refused"
    )
    assert "Traceback" not in result.output


def test_usage_errors_exit_2() -> None:
    assert invoke(FakeGateway(), "tasks", "frobnicate").exit_code == 2
    assert invoke(FakeGateway(), "tasks", "list", "--limit", "0").exit_code == 2


def test_url_and_key_options_override_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADEBUS_URL", "http://from-env")
    monkeypatch.setenv("TRADEBUS_API_KEY", "tb_env")
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return ok(items=[])

    session = Session(CliSettings(), transport=httpx.MockTransport(answer))
    runner = CliRunner()
    assert runner.invoke(app, ["schedules", "list"], obj=session).exit_code == 0
    assert (
        str(seen[0].url).startswith("http://from-env/")
        and seen[0].headers["authorization"] == "Bearer tb_env"
    )
    args = ["--url", "http://other", "--key", "tb_flag", "schedules", "list"]
    assert runner.invoke(app, args, obj=session).exit_code == 0
    assert (
        str(seen[1].url).startswith("http://other/")
        and seen[1].headers["authorization"] == "Bearer tb_flag"
    )


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (["topology", "verify"], ["topology", "verify", "--local"]),
        (["topology", "declare"], ["topology", "declare"]),
        (["parking", "list", "q", "--json"], ["parking", "show", "q", "--local", "--json"]),
        (["parking", "replay", "q"], ["parking", "replay", "q", "--local", "--all"]),
        (
            ["parking", "replay", "q", "--id", "m"],
            ["parking", "replay", "q", "--local", "--id", "m"],
        ),
        (
            ["parking", "purge", "q", "--yes"],
            ["parking", "purge", "q", "--local", "--all", "--yes-i-mean", "q"],
        ),
        (["parking", "purge", "q"], ["parking", "purge", "q"]),  # asks for the name
    ],
)
def test_tradebus_bus_maps_onto_tradebus(old: list[str], new: list[str]) -> None:
    assert aliases.translate_bus(old) == new


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (
            ["create-tenant", "acme", "--name", "A"],
            ["tenants", "create", "acme", "--local", "--name", "A"],
        ),
        (
            ["create-key", "acme", "--label", "x"],
            ["keys", "create", "--tenant", "acme", "--local", "--label", "x"],
        ),
        (
            ["ingest", "docs", "--api-key", "k", "--url", "http://gw"],
            ["--key", "k", "--url", "http://gw", "ingest", "docs"],
        ),
        (["cancel", "t1"], ["tasks", "cancel", "t1"]),
        (["delete", "t1", "--api-key", "k"], ["--key", "k", "tasks", "delete", "t1"]),
    ],
)
def test_tradebus_gateway_maps_onto_tradebus(old: list[str], new: list[str]) -> None:
    assert aliases.translate_gateway(old) == new


def test_an_alias_prints_a_deprecation_notice_then_runs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.argv", ["tradebus-gateway", "cancel", "--help"])
    with pytest.raises(SystemExit) as exited:
        aliases.gateway()
    assert exited.value.code == 0
    captured = capsys.readouterr()
    assert captured.err.splitlines()[0] == (
        "tradebus-gateway is deprecated: running `tradebus tasks cancel --help`"
    )
    assert "Cancel a task" in captured.out

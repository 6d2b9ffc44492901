"""`tradebus-gateway cancel` posts to the cancel route; `delete` deletes; a refusal is
the server's message on stderr and exit code 1."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from tradebus_gateway import cli


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    seen: list[tuple[str, str]] = []
    answers = {
        ("POST", "/v1/tasks/t1/cancel"): httpx.Response(200, json={"status": "cancelled"}),
        ("DELETE", "/v1/tasks/t1"): httpx.Response(204),
        ("DELETE", "/v1/tasks/live"): httpx.Response(
            409, json={"code": "not_terminal", "message": "task is running; cancel it first"}
        ),
    }

    def request(method: str, url: str, **_: Any) -> httpx.Response:
        path = httpx.URL(url).path
        seen.append((method, path))
        return answers[(method, path)]

    monkeypatch.setattr(cli.httpx, "request", request)
    return seen


def run(*args: str) -> Any:
    return CliRunner().invoke(cli.app, [*args, "--api-key", "k", "--url", "http://gw"])


def test_cancel_posts_to_the_cancel_route(calls: list[tuple[str, str]]) -> None:
    result = run("cancel", "t1")
    assert result.exit_code == 0 and "t1 cancelled" in result.output
    assert calls == [("POST", "/v1/tasks/t1/cancel")]


def test_delete_deletes_and_reports_a_refusal(calls: list[tuple[str, str]]) -> None:
    assert run("delete", "t1").exit_code == 0
    refused = run("delete", "live")
    assert refused.exit_code == 1 and "cancel it first" in refused.output
    assert calls == [("DELETE", "/v1/tasks/t1"), ("DELETE", "/v1/tasks/live")]

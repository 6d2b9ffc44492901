"""`tradebus tasks` (operator routes, or the tenant's own with a tenant key); `tradebus
ingest` is in test_ingest.py."""

from __future__ import annotations

import json

import httpx

from .fakes import FakeGateway, error, invoke, ok

TASK = {
    "id": "t1",
    "tenant_id": "acme",
    "kind": "rag.ingest",
    "status": "running",
    "progress": {"done": 2, "total": 5},
    "created_at": "2026-12-03T08:00:00Z",
    "updated_at": "2026-12-03T08:00:01Z",
    "error": None,
}
FORBIDDEN = error(403, "forbidden", "operator key required")


def test_tasks_list_uses_the_operator_route_with_filters() -> None:
    gateway = FakeGateway()
    gateway.on("GET", "/v1/operator/tasks", ok(items=[TASK], next_cursor=None))
    result = invoke(
        gateway,
        "tasks",
        "list",
        "--tenant",
        "acme",
        "--status",
        "running",
        "--created-after",
        "2026-12-01T00:00:00",
    )
    assert result.exit_code == 0, result.output
    assert "t1" in result.stdout and "2/5" in result.stdout and "rag.ingest" in result.stdout
    params = gateway.requests[0].url.params
    assert params["tenant"] == "acme" and params["status"] == "running"
    assert params["created_after"].startswith("2026-12-01T00:00:00")
    data = json.loads(invoke(gateway, "tasks", "list", "--json").stdout)
    assert data == {"items": [TASK], "next_cursor": None}


def test_a_tenant_key_lists_its_own_tasks() -> None:
    gateway = FakeGateway()
    gateway.on("GET", "/v1/operator/tasks", FORBIDDEN)
    gateway.on("GET", "/v1/tasks", ok(items=[TASK], next_cursor="n"))
    result = invoke(gateway, "tasks", "list", "--kind", "rag.ingest", "--json", key="tb_tenant")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["next_cursor"] == "n"
    assert gateway.seen() == [("GET", "/v1/operator/tasks"), ("GET", "/v1/tasks")]
    assert gateway.requests[1].url.params["kind"] == "rag.ingest"
    refused = invoke(gateway, "tasks", "list", "--tenant", "other", key="tb_tenant")
    assert refused.exit_code == 1 and "--tenant: only with an operator key" in refused.stderr


def test_an_unauthorized_key_is_not_retried_on_the_tenant_route() -> None:
    gateway = FakeGateway()
    gateway.on("GET", "/v1/operator/tasks", error(401, "unauthorized", "unknown API key"))
    result = invoke(gateway, "tasks", "list")
    assert result.exit_code == 1 and "401 unauthorized" in result.stderr
    assert gateway.seen() == [("GET", "/v1/operator/tasks")]


def test_tasks_show_with_history_and_result() -> None:
    gateway = FakeGateway()
    detail = {
        **TASK,
        "status": "succeeded",
        "history": [{"at": "2026-12-03T08:00:02Z", "status": "succeeded", "reason": "done"}],
        "result": {"chunks": 7},
    }
    gateway.on("GET", "/v1/operator/tasks/t1", ok(**detail))
    result = invoke(gateway, "tasks", "show", "t1")
    assert result.exit_code == 0
    assert "history" in result.stdout and "done" in result.stdout and "chunks" in result.stdout
    assert json.loads(invoke(gateway, "tasks", "show", "t1", "--json").stdout) == detail


def test_tasks_watch_refreshes_until_the_duration() -> None:
    gateway = FakeGateway()
    gateway.on("GET", "/v1/operator/tasks", ok(items=[TASK], next_cursor=None))
    result = invoke(gateway, "tasks", "watch", "--duration", "0.5", "--interval", "0.1", "--json")
    assert result.exit_code == 0
    pages = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(pages) >= 2 and all(p["items"] == [TASK] for p in pages)
    table = invoke(gateway, "tasks", "watch", "--duration", "0.2", "--interval", "0.1")
    assert table.exit_code == 0 and "t1" in table.stdout


def test_tasks_cancel_and_a_terminal_task() -> None:
    gateway = FakeGateway()
    gateway.on("POST", "/v1/operator/tasks/t1/cancel", ok(202, **{**TASK, "status": "cancelled"}))
    gateway.on("POST", "/v1/operator/tasks/done/cancel", error(409, "terminal", "task succeeded"))
    assert invoke(gateway, "tasks", "cancel", "t1").stdout.strip() == "t1 cancelled"
    refused = invoke(gateway, "tasks", "cancel", "done")
    assert refused.exit_code == 1 and "409 terminal: task succeeded" in refused.stderr


def test_tasks_cancel_and_delete_with_a_tenant_key() -> None:
    gateway = FakeGateway()
    gateway.on("POST", "/v1/operator/tasks/t1/cancel", FORBIDDEN)
    gateway.on("POST", "/v1/tasks/t1/cancel", ok(**{**TASK, "status": "cancelled"}))
    gateway.on("DELETE", "/v1/tasks/t1", httpx.Response(204))
    assert invoke(gateway, "tasks", "cancel", "t1", "--json", key="tb_t").exit_code == 0
    assert invoke(gateway, "tasks", "delete", "t1", key="tb_t").stdout.strip() == "t1 deleted"
    assert gateway.seen()[1:] == [("POST", "/v1/tasks/t1/cancel"), ("DELETE", "/v1/tasks/t1")]

"""`tradebus tenants` and `tradebus keys`: through the operator API, or `--local` (and
automatically with no key and MONGODB_URL set) through the gateway's local admin."""

from __future__ import annotations

import json

import pytest

from .fakes import FakeGateway, FakeLocalAdmin, error, invoke, ok

TENANT = {"id": "acme", "name": "Acme", "created_at": "2026-12-03T08:00:00Z", "keys": []}
KEY = {"key_id": "0123456789ab", "api_key": "tb_secret", "label": "cli"}


@pytest.fixture
def gateway() -> FakeGateway:
    gw = FakeGateway()
    gw.on("POST", "/v1/operator/tenants", ok(201, **TENANT))
    gw.on("POST", "/v1/operator/tenants/acme/keys", ok(201, **KEY))
    return gw


def test_tenants_create_creates_the_tenant_and_a_first_key(gateway: FakeGateway) -> None:
    result = invoke(gateway, "tenants", "create", "acme", "--name", "Acme")
    assert result.exit_code == 0, result.output
    assert "tenant acme created" in result.stdout and "tb_secret" in result.stdout
    assert gateway.seen() == [
        ("POST", "/v1/operator/tenants"),
        ("POST", "/v1/operator/tenants/acme/keys"),
    ]
    assert gateway.body(0) == {"id": "acme", "name": "Acme"}
    assert gateway.requests[0].headers["authorization"] == "Bearer tb_operator"


def test_tenants_create_json_and_no_key(gateway: FakeGateway) -> None:
    result = invoke(gateway, "tenants", "create", "acme", "--no-key", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"tenant": TENANT}
    assert gateway.seen() == [("POST", "/v1/operator/tenants")]


def test_an_existing_tenant_is_one_line_on_stderr_and_exit_1() -> None:
    gateway = FakeGateway()
    gateway.on("POST", "/v1/operator/tenants", error(409, "exists", "tenant acme exists"))
    result = invoke(gateway, "tenants", "create", "acme")
    assert result.exit_code == 1
    assert result.stderr.strip() == "error: 409 exists: tenant acme exists"
    assert result.stdout == ""


def test_tenants_list_table_and_json() -> None:
    gateway = FakeGateway()
    item = {
        **TENANT,
        "keys": [
            {"key_id": "a" * 12, "label": "", "role": "tenant", "revoked_at": None},
            {"key_id": "b" * 12, "label": "", "role": "tenant", "revoked_at": "2026-12-01"},
        ],
        "rate_limit": "10/s",
        "quota": 100,
        "usage": {"tasks_24h": {"succeeded": 3}},
        "recent_errors": [],
    }
    gateway.on("GET", "/v1/operator/tenants", ok(items=[item], next_cursor="c2"))
    table = invoke(gateway, "tenants", "list")
    assert table.exit_code == 0
    row = next(line for line in table.stdout.splitlines() if "acme" in line)
    assert "10/s" in row and "succeeded=3" in row and " 1 " in row  # one active key
    assert "--cursor c2" in table.stdout
    data = json.loads(invoke(gateway, "tenants", "list", "--json", "--limit", "5").stdout)
    assert data == {"items": [item], "next_cursor": "c2"}
    assert gateway.requests[-1].url.params["limit"] == "5"


def test_local_tenants_and_keys_use_the_local_admin() -> None:
    admin = FakeLocalAdmin()
    created = invoke(None, "tenants", "create", "acme", "--local", "--json", local_admin=admin)
    assert created.exit_code == 0, created.output
    assert json.loads(created.stdout)["key"]["api_key"] == "tb_local"
    again = invoke(None, "tenants", "create", "acme", "--local", local_admin=admin)
    assert again.exit_code == 1 and "tenant 'acme' exists" in again.stderr
    operator = invoke(None, "keys", "create", "--operator", "--local", local_admin=admin)
    assert operator.exit_code == 0 and "tb_local" in operator.stdout
    assert admin.keys == [("acme", "cli"), (None, "")]
    unknown = invoke(None, "keys", "create", "--tenant", "nope", "--local", local_admin=admin)
    assert unknown.exit_code == 1 and "does not exist" in unknown.stderr
    missing = invoke(None, "keys", "revoke", "0123", "--local", local_admin=admin)
    assert missing.exit_code == 1 and "no key '0123'" in missing.stderr


def test_no_key_and_a_database_url_means_local() -> None:
    admin = FakeLocalAdmin()
    result = invoke(
        FakeGateway(),
        "tenants",
        "list",
        "--json",
        key=None,
        mongodb_url="mongodb://db",
        local_admin=admin,
    )
    assert result.exit_code == 0 and json.loads(result.stdout)["items"] == []
    # With a key, the API is used even when MONGODB_URL is set.
    gateway = FakeGateway()
    gateway.on("GET", "/v1/operator/tenants", ok(items=[], next_cursor=None))
    assert invoke(gateway, "tenants", "list", mongodb_url="mongodb://db").exit_code == 0
    assert gateway.seen() == [("GET", "/v1/operator/tenants")]


def test_keys_create_for_a_tenant_or_an_operator(gateway: FakeGateway) -> None:
    gateway.on("POST", "/v1/operator/keys", ok(201, **{**KEY, "label": "ops"}))
    tenant_key = invoke(gateway, "keys", "create", "--tenant", "acme", "--label", "cli")
    assert tenant_key.exit_code == 0 and "key 0123456789ab (acme)" in tenant_key.stdout
    operator_key = invoke(gateway, "keys", "create", "--operator", "--label", "ops", "--json")
    assert json.loads(operator_key.stdout)["label"] == "ops"
    assert gateway.seen() == [
        ("POST", "/v1/operator/tenants/acme/keys"),
        ("POST", "/v1/operator/keys"),
    ]
    assert gateway.body(1) == {"label": "ops"}


@pytest.mark.parametrize("flags", [[], ["--tenant", "acme", "--operator"]])
def test_keys_create_needs_exactly_one_owner(flags: list[str]) -> None:
    gateway = FakeGateway()
    result = invoke(gateway, "keys", "create", *flags)
    assert result.exit_code == 2 and gateway.requests == []


def test_keys_revoke() -> None:
    gateway = FakeGateway()
    revoked = {"key_id": "0123456789ab", "revoked_at": "2026-12-03T08:00:00Z"}
    gateway.on("POST", "/v1/operator/keys/0123456789ab/revoke", ok(**revoked))
    assert "key 0123456789ab revoked" in invoke(gateway, "keys", "revoke", "0123456789ab").stdout
    data = json.loads(invoke(gateway, "keys", "revoke", "0123456789ab", "--json").stdout)
    assert data == revoked
    gateway.on("POST", "/v1/operator/keys/nope/revoke", error(404, "not_found", "no key nope"))
    missing = invoke(gateway, "keys", "revoke", "nope")
    assert missing.exit_code == 1 and "404 not_found: no key nope" in missing.stderr

"""The gateway's records written for `tradebus tenants|keys --local` (its registered
`tradebus.local_admin` implementation), on the real MongoDB: what the key directory and
the operator API then read."""

from __future__ import annotations

from collections import Counter
from importlib.metadata import entry_points
from typing import Any

import pytest

from tradebus_gateway.auth import digest
from tradebus_gateway.key_directory import KeyDirectory
from tradebus_gateway.local_admin import LocalAdmin, open_local_admin

pytestmark = pytest.mark.integration


def test_the_gateway_registers_its_local_admin() -> None:
    [found] = entry_points(group="tradebus.local_admin")
    assert found.load() is open_local_admin


async def test_tenants_keys_and_revocation(mongo: tuple[Any, Any], unique: str) -> None:
    _, db = mongo
    admin = LocalAdmin(db)
    tenant = f"acme-{unique}"
    created = await admin.create_tenant(tenant, "Acme")
    assert created is not None and created["id"] == tenant and created["name"] == "Acme"
    assert await admin.create_tenant(tenant, None) is None

    key = await admin.create_key(tenant, "cli")
    operator = await admin.create_key(None, "ops")
    assert key["key_id"] == digest(key["api_key"])[:12]
    with pytest.raises(LookupError):
        await admin.create_key("nobody", "x")

    directory = KeyDirectory(db)
    tenant_principal = await directory.resolve(key["api_key"])
    operator_principal = await directory.resolve(operator["api_key"])
    assert tenant_principal is not None and tenant_principal.tenant_id == tenant
    assert operator_principal is not None and operator_principal.operator

    [listed] = [t for t in await admin.list_tenants() if t["id"] == tenant]
    assert [(k["key_id"], k["role"], k["revoked_at"]) for k in listed["keys"]] == [
        (key["key_id"], "tenant", None)
    ]

    revoked = await admin.revoke_key(key["key_id"])
    assert revoked is not None and revoked["revoked_at"] is not None
    assert await admin.revoke_key("0" * 64 + "x") is None
    [listed] = [t for t in await admin.list_tenants() if t["id"] == tenant]
    assert listed["keys"][0]["revoked_at"] is not None


async def test_a_key_id_prefix_matching_two_keys_is_refused(
    mongo: tuple[Any, Any], unique: str
) -> None:
    _, db = mongo
    admin = LocalAdmin(db)
    await admin.create_tenant(unique, None)
    # 17 keys over 16 hex digits: some first digit is shared (pigeonhole).
    keys = [await admin.create_key(unique, str(i)) for i in range(17)]
    shared, _ = Counter(k["key_id"][0] for k in keys).most_common(1)[0]
    with pytest.raises(LookupError, match="ambiguous"):
        await admin.revoke_key(shared)

"""A host name no resolver can encode (a label over 63 characters) is unresolvable, not
a crash: the system resolver raises UnicodeError for it, before any DNS query."""

from __future__ import annotations

import pytest

from tradebus_egress import AddressPolicy, TargetUnresolvable, resolve_target


async def test_a_label_over_63_characters_is_unresolvable() -> None:
    url = f"https://atlas-{'0' * 70}.example.com/hook"
    with pytest.raises(TargetUnresolvable):
        await resolve_target(url, AddressPolicy.from_settings((), ()))

"""Pure parts of the operator hardening: what an audit record keeps of its input, and
where the console may send a browser."""

from __future__ import annotations

import pytest

from tradebus_gateway.console.paths import console_path
from tradebus_gateway.operator.audit_text import MAX_ITEMS, MAX_TEXT, clean, clean_text


def test_audit_text_shows_control_and_bidi_characters_escaped() -> None:
    assert clean_text("ops\nroot key.revoke ok") == "ops\\u000aroot key.revoke ok"
    assert clean_text("a\u202eb\u2028c\x1b[31m") == "a\\u202eb\\u2028c\\u001b[31m"
    assert clean_text("中文 é ok") == "中文 é ok"


def test_audit_values_are_bounded() -> None:
    long = clean_text("x" * 10_000)
    assert len(long) == MAX_TEXT + 1 and long.endswith("…")
    escaped = clean_text("\n" * 10_000)  # escaping grows text: still bounded
    assert len(escaped) == MAX_TEXT + 1
    ids = clean({"message_ids": [f"m{i}" for i in range(1000)], "n": 3, "ok": True})
    assert ids["message_ids"][:2] == ["m0", "m1"] and len(ids["message_ids"]) == MAX_ITEMS + 1
    assert ids["message_ids"][-1] == "… 950 more" and (ids["n"], ids["ok"]) == (3, True)
    deep: dict[str, object] = {"a": {"b": {"c": {"d": {"e": "f"}}}}}
    assert clean(deep) == {"a": {"b": {"c": {"d": "{'e': 'f'}"}}}}
    many = clean({f"k{i}": i for i in range(100)})
    assert len(many) == MAX_ITEMS + 1 and many["…"] == "50 more"


@pytest.mark.parametrize(
    "target",
    ["/console/tasks", "/console/tasks/t-1?x=1", "/console/parking/a.dlq?reason=permanent"],
)
def test_console_paths_are_kept(target: str) -> None:
    assert console_path(target) == target
    assert console_path(target + "#frag") == target


@pytest.mark.parametrize(
    "target",
    [
        None,
        "",
        "https://evil.example/console/",
        "//evil.example/console/",
        "/\\evil.example",
        "/console\\..\\x",
        "/console/\tx",
        "/console/\nx",
        "/consolex",
        "javascript:alert(1)",
        "/console/login",
        "/console/logout?x=1",
        "/console/login/",
    ],
)
def test_other_targets_are_refused(target: str | None) -> None:
    assert console_path(target) is None

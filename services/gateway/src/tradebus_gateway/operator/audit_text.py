"""What an audit record may hold of its input: text without control characters (a
newline in a label must not start a forged line where records are printed one a line,
a bidi override must not turn a target around) and bounded sizes (a caller's 1,000
message ids or a long label must not grow one record without limit)."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Any

MAX_TEXT = 200  # characters of one value
MAX_ITEMS = 50  # entries of one list or mapping
MAX_DEPTH = 4
CUT = "…"


def clean_text(value: str, limit: int = MAX_TEXT) -> str:
    """Control, format (bidi overrides, zero-width) and line/paragraph separators shown
    as `\\uXXXX`; cut at `limit` characters with a visible mark."""
    shown = "".join(_escaped(ch) for ch in value[: limit * 2])
    if len(shown) > limit or len(value) > limit * 2:
        return shown[:limit] + CUT
    return shown


def clean(value: Any, depth: int = 0) -> Any:
    """A details value as the audit stores it: texts cleaned, containers bounded (a cut
    list ends with a note of how many entries were left out)."""
    if isinstance(value, str):
        return clean_text(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if depth >= MAX_DEPTH:
        return clean_text(str(value))
    if isinstance(value, Mapping):
        items = list(value.items())
        kept = {clean_text(str(k), 64): clean(v, depth + 1) for k, v in items[:MAX_ITEMS]}
        if len(items) > MAX_ITEMS:
            kept["…"] = f"{len(items) - MAX_ITEMS} more"
        return kept
    if isinstance(value, list | tuple | set | frozenset):
        entries = sorted(value, key=str) if isinstance(value, set | frozenset) else list(value)
        out = [clean(v, depth + 1) for v in entries[:MAX_ITEMS]]
        if len(entries) > MAX_ITEMS:
            out.append(f"… {len(entries) - MAX_ITEMS} more")
        return out
    return clean_text(str(value))


def _escaped(ch: str) -> str:
    if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp"):
        return f"\\u{ord(ch):04x}"
    return ch

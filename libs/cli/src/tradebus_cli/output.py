"""Machine-readable JSON or rich tables, one place for both."""

from __future__ import annotations

import json
import sys
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table


def console() -> Console:
    # Off a terminal (pipes, tests) rich would wrap at 80 columns and split ids.
    return Console() if sys.stdout.isatty() else Console(width=200, no_color=True)


def emit_json(data: Any) -> None:
    """Stable output: the API's own field names, sorted keys, ISO dates."""
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def emit_json_line(data: Any) -> None:
    sys.stdout.write(json.dumps(data, sort_keys=True, default=str) + "\n")
    sys.stdout.flush()


def table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Table:
    out = Table(title=title, title_justify="left")
    for i, column in enumerate(columns):
        # The first column is the id to copy: never folded; the others make room.
        out.add_column(column, overflow="fold", no_wrap=i == 0)
    for row in rows:
        out.add_row(*(cell(v) for v in row))
    return out


def show(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    console().print(table(title, columns, rows))


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict):
        return safe(", ".join(f"{k}={v}" for k, v in value.items()) or "-")
    if isinstance(value, list):
        return safe(", ".join(str(v) for v in value) or "-")
    return safe(str(value))


def safe(text: str) -> str:
    """Text from the API as a terminal may show it: parked bodies, error messages and
    names are whatever a sender put there, so control characters (escape sequences that
    retitle or rewrite the terminal, a carriage return hiding the line's start, bidi
    overrides) are shown as `\\uXXXX`, and rich's `[markup]` as the brackets it is."""
    shown = "".join(
        f"\\u{ord(ch):04x}" if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch
        for ch in text
    )
    return escape(shown)


def next_page(cursor: str | None) -> None:
    if cursor:
        console().print(f"more: --cursor {cursor}")

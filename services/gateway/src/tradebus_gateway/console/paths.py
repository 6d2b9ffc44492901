"""Where the console may send a browser back to: its own pages only, so a crafted
`next=` or `back` field cannot make it an open redirect."""

from __future__ import annotations

PREFIX = "/console/"
NOT_AFTER_LOGIN = ("/console/login", "/console/logout")


def console_path(target: str | None) -> str | None:
    """`target` when it is a path of a console page; None otherwise (another site,
    a scheme-relative `//host`, backslashes browsers read as slashes, control characters
    browsers drop, the login and logout pages). The fragment is dropped."""
    if not target:
        return None
    target = target.split("#", 1)[0]
    if not target.startswith(PREFIX) or target.startswith("//") or "\\" in target:
        return None
    if any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in target):
        return None
    if target.split("?", 1)[0].rstrip("/") in NOT_AFTER_LOGIN:
        return None
    return target

"""Paging of the operator lists: `?limit=` (1..200) and an opaque `?cursor=`, which is
the sort key of the last item shown, encoded so clients treat it as a token."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated

from fastapi import Query

from ..errors import ApiError

MAX_LIMIT = 200
MAX_KEY_CHARS = 256

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page (1..200).")]
Cursor = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=1024,
        description="`next_cursor` of the previous page; opaque.",
    ),
]


class InvalidCursor(ValueError):
    """Not a cursor this API handed out."""


def encode_cursor(after: str) -> str:
    raw = json.dumps({"after": after}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    """The sort key inside `cursor`; InvalidCursor for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = json.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise InvalidCursor(cursor) from exc
    after = value.get("after") if isinstance(value, dict) else None
    if not isinstance(after, str) or not 0 < len(after) <= MAX_KEY_CHARS:
        raise InvalidCursor(cursor)
    return after


def after_of(cursor: str | None) -> str | None:
    """The cursor's sort key, or `422 invalid_cursor` (as every list of the API does)."""
    if cursor is None:
        return None
    try:
        return decode_cursor(cursor)
    except InvalidCursor:
        raise ApiError(422, "invalid_cursor", "not a cursor this API gave") from None


def next_cursor(last: str | None) -> str | None:
    return encode_cursor(last) if last is not None else None

"""The one-line notice a page shows after an action ("Replayed 3 message(s).") travels
in the redirect's query, signed with the session's secret: a crafted link cannot make
the console show an operator words of someone else's ("session expired, paste your
key at ...")."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping


def _signature(secret: str, text: str) -> str:
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()[:32]


def signed(secret: str, text: str) -> dict[str, str]:
    """Query parameters carrying `text` (notice first: pages strip from `notice=` on)."""
    return {"notice": text, "sig": _signature(secret, text)}


def verified(secret: str, params: Mapping[str, str]) -> str | None:
    """The notice of `params` when this session signed it; None otherwise."""
    text, sig = params.get("notice"), params.get("sig", "")
    if not text or not hmac.compare_digest(sig.encode(), _signature(secret, text).encode()):
        return None
    return text

"""Posting a notification to an operator channel: through the SSRF guard, to the pinned
address, within a timeout; the answer judged by what each channel means by it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx

from ..domain.alert_messages import ChannelKind
from ..domain.outcomes import Verdict, classify
from ..domain.ports import AddressGuard, AddressRefused, AddressUnresolvable, TransportFactory

# WeCom answers HTTP 200 with an `errcode`: 0 is success; these mean "later" (system busy,
# rate limited: 20 messages a minute per robot), anything else (bad key, bad body) "never".
WECOM_TRANSIENT = frozenset({-1, 45009})


@dataclass(frozen=True, slots=True)
class Answer:
    verdict: Verdict
    detail: str


class ChannelPoster:
    def __init__(
        self, *, guard: AddressGuard, transports: TransportFactory, timeout: float
    ) -> None:
        self._guard = guard
        self._transports = transports
        self._timeout = timeout

    async def post(self, kind: ChannelKind, url: str, body: dict[str, Any]) -> Answer:
        try:
            address = await self._guard.resolve(url)
        except AddressRefused as exc:
            return Answer(Verdict.FAIL, f"refused: {exc}")
        except AddressUnresolvable as exc:
            return Answer(Verdict.RETRY, str(exc))
        data = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        headers = {
            "content-type": "application/json; charset=utf-8",
            "user-agent": "tradebus-alerts/1",
        }
        try:
            async with httpx.AsyncClient(
                transport=self._transports(address),
                timeout=self._timeout,
                follow_redirects=False,
            ) as client:
                response = await client.post(url, content=data, headers=headers)
        except httpx.HTTPError as exc:  # timeouts, refused or reset connections
            return Answer(Verdict.RETRY, f"{type(exc).__name__}: {exc}")
        return judge(kind, response.status_code, response.content)


def judge(kind: ChannelKind, status: int, content: bytes) -> Answer:
    verdict = classify(status)
    excerpt = content[:200].decode(errors="replace")
    if verdict is Verdict.GONE:  # a channel is settings, not a subscription to disable
        verdict = Verdict.FAIL
    if verdict is not Verdict.DELIVERED or kind != "wecom":
        return Answer(verdict, f"HTTP {status}: {excerpt}")
    try:
        errcode = int(json.loads(content).get("errcode", 0))
    except (ValueError, AttributeError):
        return Answer(Verdict.FAIL, f"HTTP {status}, not a WeCom answer: {excerpt}")
    if errcode == 0:
        return Answer(Verdict.DELIVERED, f"HTTP {status}")
    verdict = Verdict.RETRY if errcode in WECOM_TRANSIENT else Verdict.FAIL
    return Answer(verdict, f"WeCom errcode {errcode}: {excerpt}")

"""The up-front SSRF check of a subscribed webhook URL: a tenant learns at once (422) that
its URL points inside the platform, instead of from failed deliveries. It is a courtesy,
not the guard: DNS can change after this check, so the notifier checks again and pins the
address at every delivery."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from tradebus_egress import (
    AddressPolicy,
    Resolver,
    TargetRefused,
    TargetUnresolvable,
    resolve_target,
    system_resolver,
)


class WebhookUrlCheck:
    def __init__(
        self,
        allowed_networks: Iterable[str] = (),
        *,
        timeout_seconds: float = 3.0,
        resolver: Resolver = system_resolver,
    ) -> None:
        self._policy = AddressPolicy.from_settings(allowed_networks, ())
        self._timeout = timeout_seconds
        self._resolver = resolver

    async def refusal(self, url: str) -> str | None:
        """Why `url` may not be subscribed, or None. A name that does not resolve (yet)
        is accepted: delivery retries it, and refuses it if it then resolves inside."""
        try:
            async with asyncio.timeout(self._timeout):
                await resolve_target(url, self._policy, self._resolver)
        except TargetRefused as exc:
            return str(exc)
        except (TargetUnresolvable, TimeoutError):
            return None
        return None

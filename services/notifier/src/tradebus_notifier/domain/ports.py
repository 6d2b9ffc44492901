"""What webhook delivery needs from the outside, as small protocols; the composition
root (`app.build`) injects the defaults in `adapters/`, tests inject fakes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import httpx

from tradebus_contracts import DeliverWebhook, Envelope


@dataclass(frozen=True, slots=True)
class PinnedAddress:
    """A URL's host resolved and checked once: the request goes to `ip`, never to what
    the name resolves to a moment later (no DNS rebinding between check and connect)."""

    scheme: str
    host: str
    port: int
    ip: str


class AddressRefused(Exception):
    """The URL may not be called: bad scheme, or an address in a forbidden range."""


class AddressUnresolvable(Exception):
    """The host did not resolve now (may be transient)."""


class AddressGuard(Protocol):
    async def resolve(self, url: str) -> PinnedAddress:
        """Validate `url`, resolve its host and return the address to connect to;
        raises AddressRefused or AddressUnresolvable."""
        ...


# An httpx transport that sends every request to the pinned address (TLS still
# verifies the certificate against the host name).
TransportFactory = Callable[[PinnedAddress], httpx.AsyncBaseTransport]


class JobScheduler(Protocol):
    async def schedule(
        self, job: DeliverWebhook, *, delay_seconds: int, causation: Envelope
    ) -> None:
        """Publish `job` so that it is consumed in `delay_seconds` (on the broker's delay
        network; nothing sleeps). Raises when the broker did not confirm it."""
        ...

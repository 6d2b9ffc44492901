"""The endpoints one process consumes, and the consumer built for each: its
outcomes (retry and parking), its dispatcher (inbox, time limit), its throttle."""

from __future__ import annotations

from collections.abc import Mapping

from tradebus_contracts import Contract, MessageKind
from tradebus_resilience import SharedLimits

from .consumer import Consumer
from .context import _Publish
from .dispatch import Dispatcher
from .endpoint import Endpoint
from .inbox import Inbox
from .metrics import QueueMetrics
from .outbound import Outbound
from .outcomes import Outcomes
from .retry import RetryPolicy
from .settings import BusSettings
from .throttle import Throttle
from .topology import COMMANDS, EVENTS, Topology, base_topology
from .wiring import consumer_for, topology_of


def subscribed_exchange(queue: str, models: Mapping[str, type[Contract]]) -> str:
    """The exchange a subscription binds to: commands or events, never both."""
    kinds = {m.kind for m in models.values()}
    if len(kinds) != 1 or not kinds <= {MessageKind.COMMAND, MessageKind.EVENT}:
        raise ValueError(f"{queue}: subscribe to commands or events, not {kinds}")
    return COMMANDS if MessageKind.COMMAND in kinds else EVENTS


class Registrations:
    def __init__(
        self,
        settings: BusSettings,
        *,
        inbox: Inbox | None,
        outbound: Outbound,
        publish: _Publish,
    ) -> None:
        self._settings = settings
        self._inbox = inbox
        self._outbound = outbound
        self._publish = publish
        self._policy = RetryPolicy(
            settings.max_attempts,
            settings.retry_base_seconds,
            settings.retry_cap_seconds,
            outage_budget_seconds=settings.outage_budget_seconds,
            outage_cap_seconds=settings.outage_retry_cap_seconds,
        )
        self._limits: SharedLimits | None = None  # created for the first throttled endpoint
        self.endpoints: list[Endpoint] = []
        self.consumers: list[Consumer] = []

    def add(self, endpoint: Endpoint, *, started: bool) -> None:
        if any(e.queue == endpoint.queue for e in self.endpoints):
            raise ValueError(f"queue {endpoint.queue} is already subscribed")
        if started:
            raise RuntimeError("subscribe before start()")
        self.endpoints.append(endpoint)
        self.consumers.append(self._consumer(endpoint))

    def topology(self) -> Topology:
        """Everything this process declares: the shared base plus its endpoints."""
        topo = base_topology(self._settings.delay_levels)
        for e in self.endpoints:
            topo = topo + topology_of(e, self._settings)
        return topo

    async def close(self) -> None:
        if self._limits is not None:
            await self._limits.close()
            self._limits = None

    def _consumer(self, endpoint: Endpoint) -> Consumer:
        s, metrics = self._settings, QueueMetrics(endpoint.queue)
        return consumer_for(
            endpoint,
            settings=s,
            policy=self._policy,
            outcomes=Outcomes(
                queue=endpoint.queue,
                parking_key=endpoint.parking_key,
                publisher=self._outbound.publisher,
                levels=s.delay_levels,
                service=s.service,
                host=s.host,
                parked_body_max_bytes=s.parked_body_max_bytes,
                metrics=metrics,
                on_fault=self._outbound.publish_fault,
            ),
            dispatcher=Dispatcher(endpoint, self._inbox, self._publish, metrics),
            replier=self._outbound.replier if endpoint.rpc else None,
            throttle=self._throttle(endpoint),
        )

    def _throttle(self, endpoint: Endpoint) -> Throttle | None:
        if endpoint.rate_limit is None:
            return None
        if self._limits is None:  # one store for every throttled endpoint of the process
            s = self._settings
            self._limits = SharedLimits(s.redis_url, prefix=s.limits_prefix, exact=True)
        return Throttle(endpoint.queue, endpoint.rate_limit, self._limits)

"""One process's connection to RabbitMQ, kept alive.

A task connects, runs `setup` (declare the topology, open publishers, start the
consumers) on every connection, and when the connection is lost calls `detach`
and reconnects with capped, jittered exponential backoff until stopped."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import aio_pika
import structlog
from aio_pika.abc import AbstractConnection

from .backoff import jittered_backoff
from .declare import TopologyConflict
from .errors import BrokerUnavailable
from .settings import BusSettings

log = structlog.get_logger("tradebus.bus")

Setup = Callable[[AbstractConnection], Awaitable[None]]


class ConnectionSupervisor:
    def __init__(self, settings: BusSettings, *, setup: Setup, detach: Callable[[], None]):
        self._settings = settings
        self._setup = setup
        self._detach = detach
        self.connection: AbstractConnection | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._up = asyncio.Event()
        self._first_error: BaseException | None = None

    @property
    def running(self) -> bool:
        return self._task is not None

    @property
    def connected(self) -> bool:
        c = self.connection
        return self._up.is_set() and c is not None and c.connected.is_set()

    async def start(self, *, wait: bool) -> None:
        """Start supervising; with `wait`, return once connected and set up, or raise
        BrokerUnavailable (TopologyConflict as itself) after the connect timeout."""
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name="tradebus-bus")
        if not wait:
            return
        waiter = asyncio.create_task(self._up.wait())
        done, _ = await asyncio.wait(
            {waiter, self._task},
            timeout=self._settings.connect_timeout_seconds,
            return_when=asyncio.FIRST_COMPLETED,
        )
        if waiter in done:
            return
        waiter.cancel()
        error = self._first_error
        await self.stop()
        if isinstance(error, TopologyConflict):
            raise error
        raise BrokerUnavailable(
            f"could not connect to RabbitMQ at {_redact(self._settings.url)} within "
            f"{self._settings.connect_timeout_seconds}s: {error!r}. Is rabbitmq-server "
            "running? (scripts/ensure-rabbitmq.sh starts the local one)"
        )

    async def stop(self) -> None:
        self._stopping.set()
        connection = self.connection
        if connection is not None and not connection.is_closed:
            await connection.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._up.clear()

    async def _run(self) -> None:
        s = self._settings
        failures = 0
        while not self._stopping.is_set():
            connection: AbstractConnection | None = None
            try:
                connection = await aio_pika.connect(
                    s.url,
                    timeout=s.connect_timeout_seconds,
                    # Operators find a process's connection in the management UI by it.
                    client_properties={"connection_name": f"{s.service}@{s.host}"},
                )
                self.connection = connection
                lost = asyncio.Event()
                # A plain connection's closed() resolves only on our own close();
                # the close callbacks also fire when the broker or network drops it.
                connection.close_callbacks.add(lambda *_, lost=lost: lost.set())
                await self._setup(connection)
                failures = 0
                self._up.set()
                log.info("bus connected")
                stop_wait = asyncio.ensure_future(self._stopping.wait())
                lost_wait = asyncio.ensure_future(lost.wait())
                await asyncio.wait({stop_wait, lost_wait}, return_when=asyncio.FIRST_COMPLETED)
                stop_wait.cancel()
                lost_wait.cancel()
                if self._stopping.is_set():
                    return
                log.warning("lost connection to RabbitMQ; reconnecting")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._first_error = self._first_error or exc
                failures += 1
                log.warning("bus connection attempt failed", error=repr(exc), attempt=failures)
            finally:
                self._up.clear()
                self._detach()
                if (
                    connection is not None
                    and not connection.is_closed
                    and not self._stopping.is_set()
                ):
                    with contextlib.suppress(Exception):
                        await connection.close()
            delay = jittered_backoff(failures, s.reconnect_max_seconds)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)


def _redact(url: str) -> str:
    if "@" not in url:
        return url
    scheme, _, rest = url.partition("://")
    return f"{scheme}://***@{rest.split('@', 1)[1]}"

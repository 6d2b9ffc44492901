"""Short-lived channels for one-off work (declaring the topology, a passive
declare): closed afterwards, quietly, since the connection may be dying."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from aio_pika.abc import AbstractChannel, AbstractConnection


@contextlib.asynccontextmanager
async def scratch_channel(connection: AbstractConnection) -> AsyncIterator[AbstractChannel]:
    channel = await connection.channel()
    try:
        yield channel
    finally:
        with contextlib.suppress(Exception):
            await channel.close()

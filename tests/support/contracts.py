"""Message contracts that exist only for tests."""

from __future__ import annotations

from typing import ClassVar

from tradebus_contracts import Contract, MessageKind, MessageRegistry


class DoWork(Contract):
    message_type: ClassVar[str] = "test.work.do.v1"
    kind: ClassVar[MessageKind] = MessageKind.COMMAND
    key: str
    fail_times: int = 0  # raise a transient error on the first N attempts
    permanent: bool = False
    sleep: float = 0.0


class WorkDone(Contract):
    message_type: ClassVar[str] = "test.work.done.v1"
    kind: ClassVar[MessageKind] = MessageKind.EVENT
    key: str


class Echo(Contract):
    message_type: ClassVar[str] = "test.echo.ask.v1"
    kind: ClassVar[MessageKind] = MessageKind.REQUEST
    text: str
    sleep: float = 0.0
    fail: bool = False


class EchoReply(Contract):
    message_type: ClassVar[str] = "test.echo.reply.v1"
    kind: ClassVar[MessageKind] = MessageKind.REPLY
    text: str


def make_registry() -> MessageRegistry:
    from tradebus_contracts import REGISTRY  # the real contracts, e.g. message faulted

    registry = MessageRegistry(list(REGISTRY))
    for model in (DoWork, WorkDone, Echo, EchoReply):
        registry.register(model)
    return registry

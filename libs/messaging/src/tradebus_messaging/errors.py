"""Exceptions the runtime raises or understands."""

from __future__ import annotations


class PermanentError(Exception):
    """Raised by a handler when retrying cannot help: the message is parked at once."""

    def __init__(self, message: str, *, code: str = "permanent") -> None:
        super().__init__(message)
        self.code = code


class PublishError(Exception):
    """A publish did not reach a queue; the caller must treat the message as not sent."""


class UnroutableMessage(PublishError):
    """The broker returned a mandatory publish: no queue is bound for its routing key."""


class PublishNacked(PublishError):
    """The broker refused the publish (negative confirm)."""


class BrokerUnavailable(PublishError):
    """No connection to the broker right now."""


class RpcError(Exception):
    """Base of the RPC client's failures."""


class DeadlineExceeded(RpcError):
    """No reply arrived before the request's deadline."""


class RemoteError(RpcError):
    """The server answered with an error reply."""

    def __init__(self, code: str, message: str, *, retryable: bool = False) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.retryable = retryable


class OutageError(Exception):
    """Raised (or wrapped) by an adapter when its infrastructure is unreachable: the
    message rides out the outage on the delay network without spending attempts."""


class HandlerTimeout(Exception):
    """The handler ran past its endpoint's hard time limit and was cancelled."""

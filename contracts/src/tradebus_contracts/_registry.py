"""Message type <-> model registry."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from ._base import Contract

# <domain>.<entity>.<verb>.v<N> (RPC types may be <domain>.<verb>.v<N>); lowercase words.
_TYPE_PATTERN = re.compile(r"^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*){1,}\.v[1-9][0-9]*$")


class UnknownMessageType(LookupError):
    """A message carries a type no registered contract describes."""

    def __init__(self, message_type: str) -> None:
        super().__init__(f"unknown message type {message_type!r}")
        self.message_type = message_type


def is_valid_message_type(message_type: str) -> bool:
    return bool(_TYPE_PATTERN.match(message_type))


class MessageRegistry:
    def __init__(self, models: Iterable[type[Contract]] = ()) -> None:
        self._models: dict[str, type[Contract]] = {}
        for model in models:
            self.register(model)

    def register(self, model: type[Contract]) -> type[Contract]:
        message_type = getattr(model, "message_type", None)
        if not isinstance(message_type, str) or not is_valid_message_type(message_type):
            raise ValueError(f"{model.__name__} has an invalid message_type {message_type!r}")
        existing = self._models.get(message_type)
        if existing is not None and existing is not model:
            raise ValueError(
                f"{message_type!r} is already registered to {existing.__name__}, "
                f"cannot register {model.__name__}"
            )
        self._models[message_type] = model
        return model

    def model_for(self, message_type: str) -> type[Contract]:
        try:
            return self._models[message_type]
        except KeyError:
            raise UnknownMessageType(message_type) from None

    def __contains__(self, message_type: object) -> bool:
        return message_type in self._models

    def __iter__(self) -> Iterator[type[Contract]]:
        return iter(sorted(self._models.values(), key=lambda m: m.message_type))

    def __len__(self) -> int:
        return len(self._models)

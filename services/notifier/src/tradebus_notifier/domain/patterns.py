"""Event-type patterns with AMQP topic semantics: words separated by dots, `*` matches
exactly one word, `#` zero or more (the same patterns an AMQP subscriber binds with)."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache


@lru_cache(maxsize=4096)
def topic_matches(pattern: str, message_type: str) -> bool:
    return _match(tuple(pattern.split(".")), tuple(message_type.split(".")))


def _match(pattern: tuple[str, ...], words: tuple[str, ...]) -> bool:
    if not pattern:
        return not words
    head, rest = pattern[0], pattern[1:]
    if head == "#":
        return any(_match(rest, words[i:]) for i in range(len(words) + 1))
    if not words:
        return False
    return (head == "*" or head == words[0]) and _match(rest, words[1:])


def matches_any(patterns: Iterable[str], message_type: str) -> bool:
    return any(topic_matches(p, message_type) for p in patterns)

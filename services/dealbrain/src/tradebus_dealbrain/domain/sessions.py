"""Conversation sessions as values, and when one is due for summarising. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from tradebus_knowledge import count_tokens

Role = Literal["user", "assistant"]


@dataclass(frozen=True, slots=True)
class Turn:
    role: Role
    content: str
    at: datetime
    tokens: int
    n: int = -1  # position in the conversation, assigned when stored

    @classmethod
    def new(cls, role: Role, content: str, at: datetime) -> Turn:
        return cls(role, content, at, count_tokens(content))


@dataclass(frozen=True, slots=True)
class SessionContext:
    """What an answer sees of the conversation: the running summary and the newest
    turns not yet folded into it."""

    summary: str = ""
    recent: tuple[Turn, ...] = ()


@dataclass(frozen=True, slots=True)
class SessionState:
    """The counters after an append; enough to decide on a summary."""

    turn_count: int
    summarized_through: int  # -1: nothing summarised yet
    pending_tokens: int  # tokens of the turns after summarized_through


@dataclass(frozen=True, slots=True)
class StoredSession:
    summary: str
    summarized_through: int
    turns: tuple[Turn, ...]


def recent_context(
    summary: str, turns: Sequence[Turn], summarized_through: int, keep: int
) -> SessionContext:
    pending = [t for t in turns if t.n > summarized_through]
    return SessionContext(summary, tuple(pending[-keep:]) if keep else ())


def summarize_through(state: SessionState, *, threshold: int, keep_recent: int) -> int | None:
    """The turn to summarise through once the unsummarised tokens pass `threshold`:
    everything but the newest `keep_recent` turns, which stay verbatim in the prompt.
    None when nothing is due."""
    if state.pending_tokens <= threshold:
        return None
    through = state.turn_count - 1 - keep_recent
    return through if through > state.summarized_through else None


def turns_to_fold(session: StoredSession, through: int) -> list[Turn]:
    return [t for t in session.turns if session.summarized_through < t.n <= through]

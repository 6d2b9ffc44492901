"""dealbrain's pure logic: deadlines, citations, prompts, sessions; and its ports."""

from .citations import resolve_citations, strip_citations
from .deadline import Deadline
from .prompts import grounded_messages, summary_messages, transcript_lines
from .sessions import (
    SessionContext,
    SessionState,
    StoredSession,
    Turn,
    recent_context,
    summarize_through,
    turns_to_fold,
)

__all__ = [
    "Deadline",
    "SessionContext",
    "SessionState",
    "StoredSession",
    "Turn",
    "grounded_messages",
    "recent_context",
    "resolve_citations",
    "strip_citations",
    "summarize_through",
    "summary_messages",
    "transcript_lines",
    "turns_to_fold",
]

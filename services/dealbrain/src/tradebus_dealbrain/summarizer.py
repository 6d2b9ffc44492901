"""`dealbrain.session.summarize.v1`: fold a session's older turns into its running summary.

Idempotent by construction: the summary is stored with a compare-and-set on
`summarized_through`, so a redelivered or duplicate command finds its turns already folded
and does nothing; two commands racing for one session fold each turn once (the loser
re-reads and folds only what is left).

A transient LLM failure is raised while attempts remain, so the runtime retries it with
backoff; on the last attempt (or a failure retrying cannot fix) the summary degrades to an
extractive one rather than leaving the session to grow."""

from __future__ import annotations

import asyncio

import structlog

from tradebus_providers.types import ChatModel
from tradebus_resilience import DownstreamError, DownstreamHTTPError

from .domain import StoredSession, Turn, summary_messages, transcript_lines, turns_to_fold
from .domain.ports import ExtractiveAnswerer, SessionStore
from .failures import log_degradation
from .metrics import SUMMARIES

log = structlog.get_logger(__name__)

_CAS_ROUNDS = 3


class SessionSummarizer:
    def __init__(
        self,
        *,
        sessions: SessionStore,
        chat: ChatModel | None,
        extractive: ExtractiveAnswerer,
        max_tokens: int,
        llm_attempts: int,
        timeout: float,
    ) -> None:
        self._sessions = sessions
        self._chat, self._extractive = chat, extractive
        self._max_tokens = max_tokens
        self._llm_attempts = llm_attempts
        self._timeout = timeout

    async def fold(self, tenant_id: str, session_id: str, through: int, *, attempt: int) -> str:
        """Returns the outcome: llm, extractive, duplicate, missing or conflict."""
        outcome = "conflict"
        for _ in range(_CAS_ROUNDS):
            session = await self._sessions.load(tenant_id, session_id)
            if session is None:
                outcome = "missing"
                break
            turns = turns_to_fold(session, through)
            if not turns:  # folded already: a redelivery or a duplicate command
                outcome = "duplicate"
                break
            summary, outcome = await self._summarize(session, turns, attempt)
            stored = await self._sessions.store_summary(
                tenant_id,
                session_id,
                expected_through=session.summarized_through,
                through=turns[-1].n,
                summary=summary,
                folded_tokens=sum(t.tokens for t in turns),
            )
            if stored:
                break
            outcome = "conflict"  # another summary landed first: re-read, fold the rest
        SUMMARIES.labels(outcome).inc()
        log.info("session summary", session_id=session_id, through_turn=through, outcome=outcome)
        return outcome

    async def _summarize(
        self, session: StoredSession, turns: list[Turn], attempt: int
    ) -> tuple[str, str]:
        if self._chat is not None:
            messages = summary_messages(session.summary, turns, max_tokens=self._max_tokens)
            try:
                async with asyncio.timeout(self._timeout):
                    text = await self._chat.complete(
                        messages, max_tokens=self._max_tokens, timeout=self._timeout
                    )
                if text.strip():
                    return text.strip(), "llm"
            except DownstreamError as exc:
                if attempt < self._llm_attempts and _worth_retrying(exc):
                    raise  # the runtime retries with backoff; no slot held meanwhile
                log_degradation(log, "LLM summary failed; summarising extractively", exc)
            except TimeoutError as exc:
                if attempt < self._llm_attempts:
                    raise
                log_degradation(log, "LLM summary timed out; summarising extractively", exc)
        lines = transcript_lines(session.summary, turns)
        summary = self._extractive.summarize(lines, max_tokens=self._max_tokens)
        return summary, "extractive"


def _worth_retrying(exc: DownstreamError) -> bool:
    # A 4xx (bad request, auth) fails the same way next time.
    return not (isinstance(exc, DownstreamHTTPError) and not exc.transient)

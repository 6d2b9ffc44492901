"""The answer step: a grounded LLM answer when one is configured and fits the deadline,
else the extractive answer. Either way citations come from `[n]` markers."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import structlog

from tradebus_providers.types import ChatModel, Passage

from .domain import Deadline, SessionContext, grounded_messages, resolve_citations
from .domain.ports import ExtractiveAnswerer
from .failures import log_degradation

log = structlog.get_logger(__name__)

LLM_EXTRACTIVE = "llm:extractive"


class Answerer:
    def __init__(
        self,
        *,
        chat: ChatModel | None,
        extractive: ExtractiveAnswerer,
        reserve: float,
        llm_min: float,
        max_tokens: int,
        sentences: int,
    ) -> None:
        self.chat = chat
        self._extractive = extractive
        self._reserve, self._llm_min = reserve, llm_min
        self._max_tokens, self._sentences = max_tokens, sentences

    async def answer(
        self,
        question: str,
        passages: Sequence[Passage],
        context: SessionContext,
        *,
        deadline: Deadline,
        degraded: list[str],
    ) -> tuple[str, list[int]]:
        """(answer text, 0-based indices of the cited passages in citation order)."""
        if self.chat is None:  # the configured mode, not a degradation
            return self.extractive(question, passages)
        budget = deadline.budget(self._reserve)
        if budget < self._llm_min:
            log.info("no time left for the LLM; answering extractively", budget_s=budget)
            degraded.append(LLM_EXTRACTIVE)
            return self.extractive(question, passages)
        messages = grounded_messages(
            question, passages, summary=context.summary, history=context.recent
        )
        try:
            # The provider gets the budget as its own timeout; this bound holds even if
            # one does not honour it.
            async with asyncio.timeout(budget):
                raw = await self.chat.complete(
                    messages, max_tokens=self._max_tokens, timeout=budget
                )
        except Exception as exc:
            log_degradation(log, "LLM failed; answering extractively", exc, budget_s=budget)
            degraded.append(LLM_EXTRACTIVE)
            return self.extractive(question, passages)
        if not raw.strip():
            log.warning("LLM returned an empty answer; answering extractively")
            degraded.append(LLM_EXTRACTIVE)
            return self.extractive(question, passages)
        return resolve_citations(raw, len(passages))

    def extractive(self, question: str, passages: Sequence[Passage]) -> tuple[str, list[int]]:
        answer = self._extractive.answer(question, passages, max_sentences=self._sentences)
        return resolve_citations(answer.text, len(passages), fallback=answer.cited)

"""Chat completions from any OpenAI-compatible server (OpenAI, Azure's compatible
endpoint, vLLM, Ollama, LiteLLM)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from tradebus_resilience import Downstream

from ._http import HttpProvider, json_body, malformed
from .types import ChatMessage


class OpenAIChat(HttpProvider):
    def __init__(
        self,
        downstream: Downstream,
        *,
        base_url: str,
        api_key: str | None,
        model: str,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(downstream, base_url=base_url, api_key=api_key, transport=transport)
        self.name = f"openai:{model}"
        self._model = model

    async def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int = 512,
        timeout: float | None = None,
    ) -> str:
        payload = {
            "model": self._model,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "max_tokens": max_tokens,
            "temperature": 0,
        }

        async def attempt() -> str:
            response = await self._client.post("/v1/chat/completions", json=payload)
            return self._content(json_body(response, self.downstream.name))

        # A completion has no side effects, so a retry cannot do anything twice.
        return await self.downstream.call(attempt, idempotent=True, timeout=timeout)

    def _content(self, body: Any) -> str:
        try:
            content = body["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise malformed(self.downstream.name, "no choices[0].message.content", body) from None
        if not isinstance(content, str) or not content.strip():
            raise malformed(self.downstream.name, "empty completion", body)
        return content.strip()

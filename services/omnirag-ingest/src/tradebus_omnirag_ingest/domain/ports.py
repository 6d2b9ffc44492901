"""What the ingest pipeline needs from the outside, as small protocols: the composition
root wires the real adapters (a forkserver sandbox, the pinned HTTP client)."""

from __future__ import annotations

from typing import Protocol

from tradebus_knowledge import Chunk


class DocumentParser(Protocol):
    async def extract(self, data: bytes, fmt: str) -> list[Chunk]:
        """Bytes of format `fmt` → chunks, or a `DocumentRejected` naming why not."""
        ...
